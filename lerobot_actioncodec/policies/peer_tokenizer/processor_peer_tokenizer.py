"""Processors of the `peer_tokenizer` type: LeRobot's default pipelines (IDENTITY normalization: the tokenizer
standardizes actions itself), kept so LeRobot's scripts find the steps they address by name."""

from typing import Any

import torch
from lerobot.processor import PolicyAction, PolicyProcessorPipeline
from lerobot.processor.factory import make_default_pre_post_processors

from .configuration_peer_tokenizer import PeerTokenizerConfig


def make_peer_tokenizer_pre_post_processors(
    config: PeerTokenizerConfig,
    dataset_stats: dict[str, dict[str, torch.Tensor]] | None = None,
) -> tuple[
    PolicyProcessorPipeline[dict[str, Any], dict[str, Any]],
    PolicyProcessorPipeline[PolicyAction, PolicyAction],
]:
    return make_default_pre_post_processors(config, dataset_stats)
