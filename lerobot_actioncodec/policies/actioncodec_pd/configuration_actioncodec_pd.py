"""Config of the `actioncodec_pd` policy type: the backbone encodes the observation, an action expert predicts every
action token in one forward pass (parallel decoding, paper section 6.2 and A.4).

Everything of the autoregressive `actioncodec` type applies (tokenizer, backbone, inference fallback, optimizer);
these fields size the action expert.
"""

from __future__ import annotations

from dataclasses import dataclass

from lerobot.configs import PreTrainedConfig

from ...config_errors import reports_config_errors
from ..actioncodec.configuration_actioncodec import ActionCodecConfig
from ..presets import require_positive


@PreTrainedConfig.register_subclass("actioncodec_pd")
@dataclass
class ActionCodecPDConfig(ActionCodecConfig):
    # --- action expert --------------------------------------------------------------------------
    # As deep as the backbone's language model, with its head count and head size (it reads that model's KV
    # cache layer by layer); its width is its own. None: half the language model's width (pi0's expert: 1,024
    # next to a 2,048-wide VLM; the paper's expert has about 300M parameters next to SmolVLM2-2.2B).
    expert_hidden_size: int | None = None
    expert_ff_mult: int = 4  # the expert's feed-forward width, in multiples of expert_hidden_size

    def expert_width(self, language_hidden_size: int) -> int:
        """expert_hidden_size, or half the backbone language model's width when it is None."""
        return self.expert_hidden_size or language_hidden_size // 2

    @reports_config_errors
    def __post_init__(self) -> None:
        super().__post_init__()
        if self.expert_hidden_size is not None:
            require_positive("expert_hidden_size", self.expert_hidden_size)
        require_positive("expert_ff_mult", self.expert_ff_mult)
