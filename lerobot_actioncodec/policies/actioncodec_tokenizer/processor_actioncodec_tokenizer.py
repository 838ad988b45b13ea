"""Processors of the `actioncodec_tokenizer` type: LeRobot's default pipelines.

The normalization mapping is IDENTITY for every feature (the tokenizer stores and applies its own
per-embodiment statistics), but the steps stay in place: LeRobot's scripts address them by name, e.g.
lerobot-train --policy.path overrides `normalizer_processor`.
"""

from typing import Any

import torch
from lerobot.processor import PolicyAction, PolicyProcessorPipeline
from lerobot.processor.factory import make_default_pre_post_processors

from .configuration_actioncodec_tokenizer import ActionCodecTokenizerConfig


def make_actioncodec_tokenizer_pre_post_processors(
    config: ActionCodecTokenizerConfig,
    dataset_stats: dict[str, dict[str, torch.Tensor]] | None = None,
) -> tuple[
    PolicyProcessorPipeline[dict[str, Any], dict[str, Any]],
    PolicyProcessorPipeline[PolicyAction, PolicyAction],
]:
    return make_default_pre_post_processors(config, dataset_stats)
