"""Config of the `actioncodec` policy type: a VLA that emits ActionCodec tokens autoregressively.

The policy needs a trained `actioncodec_tokenizer` checkpoint (`tokenizer_path`). Its config is copied into
`tokenizer_config` here, so the policy's own checkpoint (which also holds the tokenizer weights) is
self-contained: `--policy.path` alone restores everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lerobot.configs import NormalizationMode, PreTrainedConfig
from lerobot.configs.types import FeatureType

from ...embodiments import EmbodimentSpec
from ...tokenizer_checkpoint import read_tokenizer_config
from ..presets import AdamWCosinePresets, require_non_negative, require_positive

BACKBONE_CHOICES = ("smolvlm", "compact")
DEFAULT_VLM = "HuggingFaceTB/SmolVLM2-2.2B-Instruct"
# Per-backbone defaults: the paper's 224 px views and 1e-4 peak rate (Table 7) for the VLM, and what trains the
# compact model from scratch on a CPU.
IMAGE_SIZE_DEFAULTS = {"smolvlm": 224, "compact": 128}
LR_DEFAULTS = {"smolvlm": 1e-4, "compact": 3e-4}
INVALID_ACTION_CHOICES = ("zeros", "hold")


@PreTrainedConfig.register_subclass("actioncodec")
@dataclass
class ActionCodecConfig(AdamWCosinePresets, PreTrainedConfig):
    # --- tokenizer ------------------------------------------------------------------------------
    # A trained tokenizer's pretrained_model/ directory (lerobot-train --policy.type=actioncodec_tokenizer).
    tokenizer_path: str | None = None
    # Filled from tokenizer_path: the tokenizer's config.json, stored so checkpoints need no tokenizer_path.
    tokenizer_config: dict[str, Any] | None = None
    # Embodiment of the training data among the tokenizer's; None: the tokenizer's training embodiment.
    embodiment: str | None = None

    # --- backbone -------------------------------------------------------------------------------
    # smolvlm: SmolVLM2 with the action vocabulary (the paper's policy); compact: a small model for CPUs.
    backbone: str = "smolvlm"
    # Every camera is resized to image_size x image_size, then the views are placed side by side (Table 6).
    # None: 224 for smolvlm, 128 for compact.
    image_size: int | None = None
    # smolvlm: a hub id (256M/500M/2.2B SmolVLM2 work) or a local directory; "tiny-random" builds a tiny,
    # randomly initialised SmolVLM with a locally built tokenizer (tests and smoke runs, no download).
    vlm_model_name: str = DEFAULT_VLM
    vlm_pretrained_weights: bool = True  # False: the architecture of vlm_model_name, randomly initialised
    lora_rank: int = 0  # 0: full fine-tuning (the paper); > 0: LoRA adapters of this rank (peft)
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    # compact: a conv image encoder + a causal transformer decoder (NAC's policy size: d=256, 4 layers, 4 heads)
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1

    # --- inference ------------------------------------------------------------------------------
    # Steps of each decoded chunk executed before the next prediction; None: the whole chunk.
    n_action_steps: int | None = None
    temperature: float = 0.0  # 0: greedy (the paper's decoding)
    top_k: int | None = None  # sample among the k most likely codes when temperature > 0
    # What an invalid token sequence becomes (paper A.2: a zero-action chunk). "zeros": no motion for
    # delta actions; "hold": repeat the last executed action, which is "no motion" for absolute actions.
    invalid_action: str = "zeros"

    # --- optimization ---------------------------------------------------------------------------
    optimizer_lr: float | None = None  # None: 1e-4 for smolvlm (paper, 2.2B on LIBERO), 3e-4 for compact
    optimizer_betas: tuple[float, float] = (0.9, 0.95)
    optimizer_weight_decay: float = 0.01
    optimizer_grad_clip_norm: float = 1.0
    scheduler_warmup_steps: int = 200  # paper: 1k
    scheduler_decay_steps: int = 30_000  # paper: 30k; shorter runs scale the schedule down
    scheduler_decay_lr: float = 3e-5

    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            "VISUAL": NormalizationMode.IDENTITY,  # images stay in [0, 1]; the backbone normalizes them
            "STATE": NormalizationMode.MEAN_STD,
            "ACTION": NormalizationMode.IDENTITY,  # the tokenizer takes raw actions and normalizes itself
        }
    )
    push_to_hub: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.backbone not in BACKBONE_CHOICES:
            raise ValueError(f"backbone={self.backbone!r}: expected one of {BACKBONE_CHOICES}")
        if self.image_size is None:
            self.image_size = IMAGE_SIZE_DEFAULTS[self.backbone]
        if self.optimizer_lr is None:
            self.optimizer_lr = LR_DEFAULTS[self.backbone]
        if self.invalid_action not in INVALID_ACTION_CHOICES:
            raise ValueError(f"invalid_action={self.invalid_action!r}: expected one of {INVALID_ACTION_CHOICES}")
        for name in ("image_size", "hidden_size", "num_layers", "num_heads", "ff_mult", "optimizer_lr", "lora_alpha"):
            require_positive(name, getattr(self, name))
        require_non_negative("lora_rank", self.lora_rank)
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size={self.hidden_size}: expected a multiple of num_heads={self.num_heads}")
        if self.temperature < 0:
            raise ValueError(f"temperature={self.temperature}: expected >= 0 (0 is greedy)")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k={self.top_k}: expected >= 1 or None")
        for name in ("dropout", "lora_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: expected in [0, 1)")
        if self.tokenizer_path is not None and self.tokenizer_config is None:
            self.tokenizer_config = read_tokenizer_config(self.tokenizer_path, field="tokenizer_path")
        if self.tokenizer_config is not None:
            chunk = self.spec.chunk_length
            if self.n_action_steps is not None and not 1 <= self.n_action_steps <= chunk:
                raise ValueError(f"n_action_steps={self.n_action_steps}: expected 1..chunk_length={chunk}")

    # --- tokenizer facts --------------------------------------------------------------------------
    def _require_tokenizer(self) -> dict[str, Any]:
        if self.tokenizer_config is None:
            raise ValueError(
                "tokenizer_path is not set: pass --policy.tokenizer_path=<a trained actioncodec_tokenizer "
                "checkpoint's pretrained_model/ directory>"
            )
        return self.tokenizer_config

    @property
    def embodiment_name(self) -> str:
        return self.embodiment or self._require_tokenizer()["embodiment"]

    @property
    def spec(self) -> EmbodimentSpec:
        embodiments = self._require_tokenizer()["embodiments"]
        if self.embodiment_name not in embodiments:
            raise ValueError(f"embodiment={self.embodiment_name!r}: the tokenizer knows {sorted(embodiments)}")
        spec = embodiments[self.embodiment_name]
        return spec if isinstance(spec, EmbodimentSpec) else EmbodimentSpec(**spec)

    @property
    def num_action_tokens(self) -> int:
        return int(self._require_tokenizer()["num_tokens"])

    @property
    def codebook_size(self) -> int:
        return int(self._require_tokenizer()["codebook_size"])

    @property
    def steps_per_prediction(self) -> int:
        return self.n_action_steps or self.spec.chunk_length

    # --- LeRobot contract -------------------------------------------------------------------------
    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        return list(range(self.spec.chunk_length))

    def validate_features(self) -> None:
        spec = self.spec
        action = self.output_features.get("action")
        if action is None:
            raise ValueError("output_features has no 'action' feature: the policy predicts actions")
        if action.shape[0] != spec.action_dim:
            raise ValueError(
                f"dataset action dim={action.shape[0]} but the tokenizer's embodiment {self.embodiment_name!r} "
                f"has action_dim={spec.action_dim}; expected equal"
            )
        if not self.image_features:
            raise ValueError("input_features has no camera (VISUAL) feature: the policy needs at least one image")
        states = [k for k, f in self.input_features.items() if f.type is FeatureType.STATE]
        if len(states) > 1:
            raise ValueError(f"input_features has {len(states)} state features {states}: expected at most one")
