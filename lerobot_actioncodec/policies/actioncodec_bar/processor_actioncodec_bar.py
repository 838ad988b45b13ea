"""Processors of the `actioncodec_bar` type: the autoregressive type's (LeRobot's default pipelines), under the name
LeRobot's factory looks up for this type."""

from ..actioncodec.processor_actioncodec import make_actioncodec_pre_post_processors

make_actioncodec_bar_pre_post_processors = make_actioncodec_pre_post_processors
