"""Processors of the `actioncodec_pd` type: the autoregressive type's (LeRobot's default pipelines)."""

from typing import Any

import torch
from lerobot.processor import PolicyAction, PolicyProcessorPipeline

from ..actioncodec.processor_actioncodec import make_actioncodec_pre_post_processors
from .configuration_actioncodec_pd import ActionCodecPDConfig


def make_actioncodec_pd_pre_post_processors(
    config: ActionCodecPDConfig,
    dataset_stats: dict[str, dict[str, torch.Tensor]] | None = None,
) -> tuple[
    PolicyProcessorPipeline[dict[str, Any], dict[str, Any]],
    PolicyProcessorPipeline[PolicyAction, PolicyAction],
]:
    return make_actioncodec_pre_post_processors(config, dataset_stats)
