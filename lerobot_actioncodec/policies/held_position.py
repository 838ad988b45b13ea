"""What "stay where you are" is for an arm driven by absolute position targets before any action was executed: the
observed position, in the action's raw units.

The policy sees the state after LeRobot's preprocessor normalized it (`normalization_mapping["STATE"]`), so holding
it needs that normalization inverted; `state_unnormalizer` mirrors LeRobot's `NormalizerProcessorStep` (same
epsilon) for the modes that are affine. It applies only where the state has the action's size (an SO-100's 6 joint
positions, the same names and units as its 6 joint targets); elsewhere there is nothing to hold but the last action.
"""

from __future__ import annotations

from typing import Any

import torch
from lerobot.configs.types import NormalizationMode
from lerobot.utils.constants import OBS_STATE

from .dataset_stats import NORMALIZER_EPS, stat_vector


def state_unnormalizer(
    dataset_stats: dict[str, dict[str, Any]] | None, mode: NormalizationMode | None, dim: int
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(scale, offset), float32 [dim], with raw = normalized * scale + offset; None when the stats or the mode do not
    allow it (no stats, a non-affine mode)."""
    if mode == NormalizationMode.IDENTITY:
        return torch.ones(dim), torch.zeros(dim)

    def stat(name: str) -> torch.Tensor | None:
        value = stat_vector(dataset_stats, OBS_STATE, name)
        return value if value is not None and value.numel() == dim else None

    if mode == NormalizationMode.MEAN_STD and (mean := stat("mean")) is not None and (std := stat("std")) is not None:
        return std + NORMALIZER_EPS, mean
    if mode == NormalizationMode.MIN_MAX and (low := stat("min")) is not None and (high := stat("max")) is not None:
        span = torch.where(high - low == 0, torch.full_like(low, NORMALIZER_EPS), high - low)
        return span / 2, low + span / 2
    return None
