"""Config of the `actioncodec_ki` policy type: knowledge insulation (paper section 6.2 and A.4; pi0.5 + KI). The
backbone learns the action tokens autoregressively, as `actioncodec`; a flow-matching action expert reads its KV
cache, with no gradient back into it, and produces continuous actions.

Everything of the autoregressive `actioncodec` type applies (tokenizer, backbone, optimizer); the expert is sized
as `actioncodec_pd`'s; these fields set the flow matching (defaults: LeRobot's pi0.5) and what inference runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from lerobot.configs import PreTrainedConfig
from lerobot.policies.rtc.configuration_rtc import RTCConfig

from ...config_errors import reports_config_errors
from ..actioncodec_pd.configuration_actioncodec_pd import ActionCodecPDConfig
from ..presets import require_positive

INFERENCE_CHOICES = ("flow", "tokens")


@PreTrainedConfig.register_subclass("actioncodec_ki")
@dataclass
class ActionCodecKIConfig(ActionCodecPDConfig):
    # "flow": integrate the expert's velocity field (no token decoding; the paper's KI); "tokens": decode the
    # backbone's action tokens instead, as `actioncodec` does (the same checkpoint, for comparison).
    ki_inference: str = "flow"
    num_inference_steps: int = 10  # forward-Euler steps from noise (t = 1) to actions (t = 0)
    flow_loss_weight: float = 1.0  # total loss = token cross-entropy + this x flow-matching MSE
    # Flow-matching times drawn from Beta(alpha, beta) x scale + offset during training (pi0.5's).
    time_sampling_beta_alpha: float = 1.5
    time_sampling_beta_beta: float = 1.0
    time_sampling_scale: float = 0.999
    time_sampling_offset: float = 0.001
    # Range of the sine-cosine time embedding (pi0's).
    min_period: float = 4e-3
    max_period: float = 4.0
    # Real-time chunking (LeRobot's RTC guidance of the flow); lerobot-rollout --inference.type=rtc sets it.
    rtc_config: RTCConfig | None = None

    @reports_config_errors
    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ki_inference not in INFERENCE_CHOICES:
            raise ValueError(f"ki_inference={self.ki_inference!r}: expected one of {INFERENCE_CHOICES}")
        for name in ("num_inference_steps", "time_sampling_beta_alpha", "time_sampling_beta_beta",
                     "time_sampling_scale", "min_period", "max_period"):  # fmt: skip
            require_positive(name, getattr(self, name))
        if self.flow_loss_weight < 0:
            raise ValueError(f"flow_loss_weight={self.flow_loss_weight}: expected >= 0")
        if self.min_period >= self.max_period:
            raise ValueError(f"min_period={self.min_period}: expected below max_period={self.max_period}")
