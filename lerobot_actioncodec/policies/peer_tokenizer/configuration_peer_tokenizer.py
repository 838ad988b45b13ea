"""Config of the `peer_tokenizer` policy type: trains a learned peer tokenizer (VQ-VLA or NAC) with lerobot-train.

One type with an `arch` field rather than a type per peer: the peers differ only in their network and its
settings, while everything LeRobot sees (chunking, normalization, the training step, saving, loading as an
`ActionTokenizer`) is the same code; a new peer is one entry in `ARCHITECTURES`. Architecture settings go in
`arch_options`, e.g. --policy.arch_options='{"codebook_size": 1024}'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lerobot.configs import NormalizationMode, PreTrainedConfig
from lerobot.configs.types import FeatureType

from ...tokenizer_checkpoint import PEER_POLICY_TYPE
from ..presets import AdamWCosinePresets, identity_normalization, require_positive

ARCHITECTURES = ("vqvla", "nac")


@PreTrainedConfig.register_subclass(PEER_POLICY_TYPE)
@dataclass
class PeerTokenizerConfig(AdamWCosinePresets, PreTrainedConfig):
    arch: str = "nac"  # vqvla | nac
    # Settings of the architecture's network (VQVLASettings / NACSettings fields), e.g. {"codebook_size": 1024}.
    arch_options: dict[str, Any] = field(default_factory=dict)
    chunk_seconds: float = 1.0
    # Control frequency. None: the dataset's (the dataset is then asked for chunk_seconds * max_fps steps and the
    # first chunk_seconds * fps are used, as the actioncodec_tokenizer type does).
    fps: float | None = None
    max_fps: float = 50.0

    optimizer_lr: float = 1e-3  # NAC paper: 2e-4 over 50k steps
    optimizer_betas: tuple[float, float] = (0.9, 0.99)
    optimizer_weight_decay: float = 1e-4
    optimizer_grad_clip_norm: float = 1.0
    scheduler_warmup_steps: int = 100
    scheduler_decay_steps: int = 50_000
    scheduler_decay_lr: float = 1e-4

    normalization_mapping: dict[str, NormalizationMode] = field(default_factory=identity_normalization)
    push_to_hub: bool = False

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

    @property
    def chunk_length(self) -> int:
        """Steps per chunk at `fps` (set by --policy.fps, or from the dataset when the policy is built)."""
        if self.fps is None:
            raise ValueError("fps is unknown: pass --policy.fps or train on a dataset")
        return max(1, round(self.chunk_seconds * self.fps))

    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        if self.fps is None:
            return list(range(math.ceil(self.chunk_seconds * self.max_fps)))
        return list(range(self.chunk_length))

    def validate_features(self) -> None:
        action = self.output_features.get("action")
        if action is None or action.type is not FeatureType.ACTION or len(action.shape) != 1:
            raise ValueError(
                f"output_features needs a flat 'action' ACTION feature, got {sorted(self.output_features)}"
            )
