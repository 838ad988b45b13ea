"""Processors of the `actioncodec` type: LeRobot's default pipelines.

State is normalized with the dataset's mean/std; images stay in [0, 1] (the backbone resizes and centres
them); actions pass through in raw units because the embedded tokenizer normalizes them itself. The steps
keep LeRobot's standard names, which lerobot-train --policy.path and lerobot-eval address.
"""

from typing import Any

import torch
from lerobot.processor import PolicyAction, PolicyProcessorPipeline
from lerobot.processor.factory import make_default_pre_post_processors

from .configuration_actioncodec import ActionCodecConfig


def make_actioncodec_pre_post_processors(
    config: ActionCodecConfig,
    dataset_stats: dict[str, dict[str, torch.Tensor]] | None = None,
) -> tuple[
    PolicyProcessorPipeline[dict[str, Any], dict[str, Any]],
    PolicyProcessorPipeline[PolicyAction, PolicyAction],
]:
    return make_default_pre_post_processors(config, dataset_stats)
