"""A postprocessor step that keeps every emitted action inside the range the training data covered.

A token head can only emit what its tokenizer decodes, but a decoder, a flow expert or a wrong checkpoint can still
produce an action far outside anything demonstrated; on a real arm with absolute joint targets that is a jump to an
unseen pose. This step is the last thing between the policy and the robot (LeRobot's postprocessor, saved with the
checkpoint and loaded by lerobot-eval, lerobot-record and lerobot-rollout): each action dimension is clamped to
`[min - margin * span, max + margin * span]` of the dataset's action stats, every clamped value is counted
(`clamped_values`) and logged, and a non-finite action is refused rather than sent. The per-step change limit of a
real arm is the robot's own setting (`--robot.max_relative_target`, LeRobot's `ensure_safe_goal_position`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from lerobot.configs.types import PipelineFeatureType, PolicyFeature
from lerobot.processor import ActionProcessorStep, ProcessorStepRegistry
from lerobot.utils.constants import ACTION

from .dataset_stats import stat_vector

logger = logging.getLogger(__name__)

DEFAULT_MARGIN = 0.05  # of each dimension's demonstrated span


def action_bounds(dataset_stats: dict[str, dict[str, Any]] | None, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(low, high), float32 [D]: the dataset's action min/max widened by `margin` of their span."""
    if margin < 0:
        raise ValueError(f"action_bounds_margin={margin}: expected a number >= 0 (a share of the demonstrated span)")
    low, high = stat_vector(dataset_stats, ACTION, "min"), stat_vector(dataset_stats, ACTION, "max")
    if low is None or high is None:
        raise ValueError(f"dataset stats of {ACTION!r} have no 'min'/'max': expected LeRobot's per-feature stats")
    if low.shape != high.shape or not (torch.isfinite(low).all() and torch.isfinite(high).all()) or (low > high).any():
        raise ValueError(f"dataset stats {ACTION}.min/max: expected finite [D] vectors with min <= max")
    span = high - low
    return low - margin * span, high + margin * span


@ProcessorStepRegistry.register(name="actioncodec_action_bounds")
@dataclass
class ActionBoundsProcessorStep(ActionProcessorStep):
    """Clamps actions ([D], [B, D] or [B, T, D]) to per-dimension bounds; counts and logs what it clamps."""

    margin: float = DEFAULT_MARGIN  # recorded with the checkpoint; the bounds themselves are the step's state
    low: torch.Tensor | None = None
    high: torch.Tensor | None = None
    clamped_values: int = field(default=0, init=False)

    @classmethod
    def from_stats(
        cls, dataset_stats: dict[str, dict[str, Any]] | None, margin: float = DEFAULT_MARGIN
    ) -> ActionBoundsProcessorStep:
        low, high = action_bounds(dataset_stats, margin)
        return cls(margin=margin, low=low, high=high)

    def action(self, action: torch.Tensor) -> torch.Tensor:
        if self.low is None or self.high is None:
            raise RuntimeError("actioncodec_action_bounds has no bounds: build it with from_stats(dataset_stats)")
        if action.shape[-1] != self.low.numel():
            raise ValueError(f"action last dim={action.shape[-1]}: expected {self.low.numel()} (the bounds' size)")
        if not torch.isfinite(action).all():
            raise ValueError("a non-finite action (NaN or inf) reached the postprocessor: refusing to send it")
        low, high = self.low.to(action.device, action.dtype), self.high.to(action.device, action.dtype)
        outside = (action < low) | (action > high)
        count = int(outside.sum())
        if count:
            self.clamped_values += count
            dims = sorted({int(d) for d in outside.nonzero()[:, -1]})
            logger.warning("clamped %d action value(s) in dims %s to the demonstrated range +/- %.0f%% (total %d)",
                           count, dims, 100 * self.margin, self.clamped_values)  # fmt: skip
        return torch.clamp(action, low, high)

    def get_config(self) -> dict[str, Any]:
        return {"margin": self.margin}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {} if self.low is None else {"low": self.low, "high": self.high}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.low, self.high = state["low"].float(), state["high"].float()

    def transform_features(
        self, features: dict[PipelineFeatureType, dict[str, PolicyFeature]]
    ) -> dict[PipelineFeatureType, dict[str, PolicyFeature]]:
        return features
