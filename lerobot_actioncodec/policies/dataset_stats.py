"""Reading LeRobot's dataset stats (`{feature: {"mean": ..., "std": ..., "min": ..., "max": ...}}`) the way its
normalizer does, for the pieces of the policies that need one statistic as a vector."""

from __future__ import annotations

from typing import Any

import torch

NORMALIZER_EPS = 1e-8  # LeRobot's NormalizerProcessorStep default: std + eps, and the span used when min == max


def stat_vector(dataset_stats: dict[str, dict[str, Any]] | None, feature: str, name: str) -> torch.Tensor | None:
    """`dataset_stats[feature][name]` as a flat float32 tensor; None when the feature or the statistic is absent."""
    value = ((dataset_stats or {}).get(feature) or {}).get(name)
    return None if value is None else torch.as_tensor(value, dtype=torch.float32).flatten()
