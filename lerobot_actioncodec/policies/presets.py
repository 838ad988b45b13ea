"""What this package's configs share: LeRobot optimizer/scheduler presets (same field names in each), value checks."""

from __future__ import annotations

import logging
from typing import Any

from lerobot.configs import NormalizationMode
from lerobot.optim import AdamWConfig
from lerobot.optim.schedulers import CosineDecayWithWarmupSchedulerConfig


def adamw_preset(config: Any) -> AdamWConfig:
    """AdamW from a config's optimizer_lr / _betas / _weight_decay / _grad_clip_norm fields."""
    return AdamWConfig(
        lr=config.optimizer_lr,
        betas=config.optimizer_betas,
        weight_decay=config.optimizer_weight_decay,
        grad_clip_norm=config.optimizer_grad_clip_norm,
    )


def cosine_preset(config: Any) -> CosineDecayWithWarmupSchedulerConfig:
    """Linear warm-up then cosine decay from a config's optimizer_lr and scheduler_* fields."""
    return CosineDecayWithWarmupSchedulerConfig(
        peak_lr=config.optimizer_lr,
        decay_lr=config.scheduler_decay_lr,
        num_warmup_steps=config.scheduler_warmup_steps,
        num_decay_steps=config.scheduler_decay_steps,
    )


def identity_normalization() -> dict[str, NormalizationMode]:
    """The mapping of the tokenizer-training types: a tokenizer standardizes actions itself with stats it stores,
    and never reads observations, so LeRobot's processors pass everything through unchanged (the steps stay, as
    LeRobot's scripts address them by name)."""
    return {
        "VISUAL": NormalizationMode.IDENTITY,
        "STATE": NormalizationMode.IDENTITY,
        "ACTION": NormalizationMode.IDENTITY,
    }


def chunking_fps(policy_type: str, configured: float | None, dataset_fps: float | None, max_fps: float) -> float:
    """The control frequency a tokenizer type chunks at: `--policy.fps`, else the dataset's. Built from its config
    alone (no dataset, no fps: LeRobot's generic policy tests, a config written by hand) it takes `max_fps`, the
    rate whose chunk length the dataset would have been asked for, and says so."""
    if configured is not None:
        return configured
    if dataset_fps is not None:
        if dataset_fps > max_fps + 1e-9:
            raise ValueError(f"dataset fps={dataset_fps} exceeds max_fps={max_fps}: pass --policy.fps={dataset_fps:g} "
                             "(or a larger --policy.max_fps)")  # fmt: skip
        return float(dataset_fps)
    logging.getLogger(__name__).warning(
        "%s: no fps is known (no --policy.fps and no dataset); chunking at max_fps=%g Hz. Pass --policy.fps to "
        "match your robot's control frequency.",
        policy_type,
        max_fps,
    )
    return float(max_fps)


def require_positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{name}={value}: expected > 0")


def require_non_negative(name: str, value: float) -> None:
    if value < 0:
        raise ValueError(f"{name}={value}: expected >= 0")


class AdamWCosinePresets:
    """LeRobot's optimizer, scheduler and reward hooks, shared by this package's configs: AdamW and cosine
    decay from the config's optimizer_* / scheduler_* fields, and no reward frames. Listed before
    PreTrainedConfig among the bases, so these implement its abstract members."""

    @property
    def reward_delta_indices(self) -> None:
        return None

    def get_optimizer_preset(self) -> AdamWConfig:
        return adamw_preset(self)

    def get_scheduler_preset(self) -> CosineDecayWithWarmupSchedulerConfig:
        return cosine_preset(self)
