"""Per-embodiment action normalization stored inside the tokenizer, so raw units go in and come out.

Each embodiment has an offset and a scale per action dimension (`normalized = (raw - offset) / scale`),
padded to the tokenizer's `max_action_dim`. Nothing is clipped: out-of-range actions stay out of range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import Tensor, nn

NormalizationKind = Literal["mean_std", "quantiles", "min_max"]
NORMALIZATION_CHOICES = ("mean_std", "quantiles", "min_max")
_EPS = 1e-6


def offset_and_scale(stats: Mapping[str, Any], kind: str) -> tuple[Tensor, Tensor]:
    """LeRobot dataset stats of one feature -> (offset, scale) with scale > 0."""

    def get(key: str) -> Tensor:
        if key not in stats:
            raise ValueError(f"normalization={kind!r} needs action stat {key!r}; dataset stats have {sorted(stats)}")
        return torch.as_tensor(stats[key], dtype=torch.float32).flatten()

    if kind == "mean_std":
        offset, scale = get("mean"), get("std")
    elif kind == "quantiles":
        low, high = get("q01"), get("q99")
        offset, scale = (low + high) / 2, (high - low) / 2
    elif kind == "min_max":
        low, high = get("min"), get("max")
        offset, scale = (low + high) / 2, (high - low) / 2
    else:
        raise ValueError(f"normalization={kind!r}: expected one of {NORMALIZATION_CHOICES}")
    return offset, scale.clamp_min(_EPS)


class ActionNormalizer(nn.Module):
    def __init__(self, num_embodiments: int, max_action_dim: int):
        super().__init__()
        self.register_buffer("offset", torch.zeros(num_embodiments, max_action_dim))
        self.register_buffer("scale", torch.ones(num_embodiments, max_action_dim))
        self.register_buffer("has_stats", torch.zeros(num_embodiments, dtype=torch.bool))

    def set_stats(self, embodiment_index: int, offset: Tensor, scale: Tensor) -> None:
        dim = offset.numel()
        self.offset[embodiment_index].zero_()
        self.scale[embodiment_index].fill_(1.0)
        self.offset[embodiment_index, :dim] = offset.to(self.offset)
        self.scale[embodiment_index, :dim] = scale.to(self.scale)
        self.has_stats[embodiment_index] = True

    def normalize(self, raw: Tensor, embodiment_index: int) -> Tensor:
        """raw [..., D] -> normalized [..., max_action_dim], zero past D."""
        dim = raw.shape[-1]
        x = (raw - self.offset[embodiment_index, :dim]) / self.scale[embodiment_index, :dim]
        return nn.functional.pad(x, (0, self.offset.shape[1] - dim))

    def denormalize(self, normalized: Tensor, embodiment_index: int, action_dim: int) -> Tensor:
        """normalized [..., max_action_dim] -> raw [..., action_dim]"""
        x = normalized[..., :action_dim]
        return x * self.scale[embodiment_index, :action_dim] + self.offset[embodiment_index, :action_dim]
