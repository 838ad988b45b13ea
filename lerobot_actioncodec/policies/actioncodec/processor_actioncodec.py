"""Processors of the `actioncodec` type: LeRobot's default pipelines, and the action bounds after them.

State is normalized with the dataset's mean/std; images stay in [0, 1] (the backbone resizes and centres
them); actions pass through in raw units because the embedded tokenizer normalizes them itself. The steps
keep LeRobot's standard names, which lerobot-train --policy.path and lerobot-eval address. The postprocessor ends
with `actioncodec_action_bounds` (policies/action_bounds.py) unless `action_bounds_margin` is None.
"""

import logging
from typing import Any

import torch
from lerobot.processor import PolicyAction, PolicyProcessorPipeline
from lerobot.processor.factory import make_default_pre_post_processors

from ..action_bounds import ActionBoundsProcessorStep
from .configuration_actioncodec import ActionCodecConfig

logger = logging.getLogger(__name__)


def make_actioncodec_pre_post_processors(
    config: ActionCodecConfig,
    dataset_stats: dict[str, dict[str, torch.Tensor]] | None = None,
) -> tuple[
    PolicyProcessorPipeline[dict[str, Any], dict[str, Any]],
    PolicyProcessorPipeline[PolicyAction, PolicyAction],
]:
    preprocessor, postprocessor = make_default_pre_post_processors(config, dataset_stats)
    if config.action_bounds_margin is not None:
        if dataset_stats is None:
            logger.warning("no dataset stats: the postprocessor has no action bounds (action_bounds_margin ignored)")
        else:
            postprocessor.steps.append(ActionBoundsProcessorStep.from_stats(dataset_stats, config.action_bounds_margin))
    return preprocessor, postprocessor
