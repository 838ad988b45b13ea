"""Config of the `peer_tokenizer` policy type: trains a learned peer tokenizer (VQ-VLA, NAC or Coarse-to-Control's
joint-mode c2c) with lerobot-train.

One type with an `arch` field rather than a type per peer: the peers differ only in their network and its
settings, while everything LeRobot sees (chunking, normalization, the training step, saving, loading as an
`ActionTokenizer`) is the same code; a new peer is one entry in `ARCHITECTURES`. Architecture settings go in
`arch_options`, e.g. --policy.arch_options='{"codebook_size": 1024}'.

`c2c` with `plan_seconds` > 0 is a joint-mode tokenizer: each batch also trains its plan mode on the coarse plans
(coarse_plan.py) of the next `plan_seconds`, so the dataset delivers H_p actions per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from lerobot.configs import NormalizationMode, PreTrainedConfig
from lerobot.configs.types import FeatureType

from ...coarse_plan import plan_source_steps, plan_source_steps_bound
from ...config_errors import reports_config_errors
from ...tokenizer_checkpoint import PEER_POLICY_TYPE
from ...tokenizers.c2c import C2CTokenizer
from ...tokenizers.learned import LearnedChunkTokenizer
from ...tokenizers.nac import NACTokenizer
from ...tokenizers.vqvla import VQVLATokenizer
from ..presets import AdamWCosinePresets, identity_normalization, require_non_negative, require_positive

TOKENIZERS: dict[str, type[LearnedChunkTokenizer]] = {"vqvla": VQVLATokenizer, "nac": NACTokenizer, "c2c": C2CTokenizer}
ARCHITECTURES = tuple(TOKENIZERS)
PLAN_ARCHITECTURES = ("c2c",)  # those with a plan mode
PLAN_SETTINGS = ("plan_horizon", "gripper_dims", "absolute")  # set from the fields below, not arch_options
SHAPE_SETTINGS = ("chunk_length", "action_dim")  # set from chunk_seconds, the fps and the dataset
SET_ELSEWHERE = {  # network settings arch_options may not hold, and what sets them
    PLAN_SETTINGS: "plan_seconds, gripper_dims and absolute_actions",
    SHAPE_SETTINGS: "chunk_seconds, the fps and the dataset's action",
}


@PreTrainedConfig.register_subclass(PEER_POLICY_TYPE)
@dataclass
class PeerTokenizerConfig(AdamWCosinePresets, PreTrainedConfig):
    arch: str = "nac"  # vqvla | nac | c2c
    # Settings of the architecture's network (VQVLASettings / NACSettings / C2CSettings fields), e.g.
    # {"codebook_size": 1024}.
    arch_options: dict[str, Any] = field(default_factory=dict)
    chunk_seconds: float = 1.0
    # Control frequency. None: the dataset's (the dataset is then asked for chunk_seconds * max_fps steps and the
    # first chunk_seconds * fps are used, as the actioncodec_tokenizer type does).
    fps: float | None = None
    max_fps: float = 50.0
    # --- c2c's plan mode (Coarse-to-Control, ../shared/papers/004_*) ---------------------------------------------
    # > 0: c2c also learns to encode the coarse plan of the next plan_seconds (H_p actions in K = chunk_length plan
    # steps) with the same codebooks; 0: an execution-only tokenizer.
    plan_seconds: float = 0.0
    # The action dimensions that hold a gripper (a plan step takes their last value). None: the dataset's action
    # names that mention a gripper (kept in config.json once known).
    gripper_dims: list[int] | None = None
    # True for absolute position targets (an SO-100's joints): a plan step takes every dimension's last value.
    absolute_actions: bool = False

    optimizer_lr: float = 1e-3  # NAC paper: 2e-4 over 50k steps
    optimizer_betas: tuple[float, float] = (0.9, 0.99)
    optimizer_weight_decay: float = 1e-4
    optimizer_grad_clip_norm: float = 1.0
    scheduler_warmup_steps: int = 100
    scheduler_decay_steps: int = 50_000
    scheduler_decay_lr: float = 1e-4

    normalization_mapping: dict[str, NormalizationMode] = field(default_factory=identity_normalization)
    push_to_hub: bool = False

    @reports_config_errors
    def __post_init__(self) -> None:
        super().__post_init__()
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch={self.arch!r}: expected one of {ARCHITECTURES}")
        if not isinstance(self.arch_options, dict):
            raise ValueError(f"arch_options={self.arch_options!r}: expected a JSON object of {self.arch} settings")
        for name in ("chunk_seconds", "max_fps", "optimizer_lr"):
            require_positive(name, getattr(self, name))
        if self.fps is not None:
            require_positive("fps", self.fps)
        require_non_negative("plan_seconds", self.plan_seconds)
        if self.plan_seconds and self.arch not in PLAN_ARCHITECTURES:
            raise ValueError(f"plan_seconds={self.plan_seconds} with arch={self.arch!r}: only {PLAN_ARCHITECTURES} "
                             "has a plan mode; expected plan_seconds=0")  # fmt: skip
        self._check_arch_options()

    def _check_arch_options(self) -> None:
        """Names in arch_options must be settings of `arch`'s network that no other field sets: found here, so
        that lerobot-train stops before it loads a dataset."""
        for names, setters in SET_ELSEWHERE.items():
            misplaced = sorted(set(self.arch_options) & set(names))
            if misplaced:
                raise ValueError(f"arch_options={self.arch_options}: {misplaced} are set by {setters}; remove them "
                                 "from arch_options")  # fmt: skip
        known = [
            f.name for f in fields(TOKENIZERS[self.arch].settings_class) if f.name not in PLAN_SETTINGS + SHAPE_SETTINGS
        ]
        unknown = sorted(set(self.arch_options) - set(known))
        if unknown:
            raise ValueError(f"arch_options={self.arch_options}: {unknown} are not {self.arch} settings; "
                             f"expected some of {known}")  # fmt: skip

    @property
    def chunk_length(self) -> int:
        """Steps per chunk at `fps` (set by --policy.fps, or from the dataset when the policy is built)."""
        if self.fps is None:
            raise ValueError("fps is unknown: pass --policy.fps or train on a dataset")
        return max(1, round(self.chunk_seconds * self.fps))

    @property
    def plan_horizon(self) -> int:
        """H_p, the actions a coarse plan summarises (0 without a plan mode); while the fps is unknown, an upper
        bound."""
        if not self.plan_seconds:
            return 0
        if self.fps is None:
            return plan_source_steps_bound(self.plan_seconds, self.chunk_seconds, self.max_fps)
        return plan_source_steps(self.fps, self.plan_seconds, self.chunk_length)

    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        chunk = math.ceil(self.chunk_seconds * self.max_fps) if self.fps is None else self.chunk_length
        return list(range(max(chunk, self.plan_horizon)))

    def validate_features(self) -> None:
        action = self.output_features.get("action")
        if action is None or action.type is not FeatureType.ACTION or len(action.shape) != 1:
            raise ValueError(
                f"output_features needs a flat 'action' ACTION feature, got {sorted(self.output_features)}"
            )
