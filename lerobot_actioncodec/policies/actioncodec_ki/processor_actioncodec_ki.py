"""Processors of the `actioncodec_ki` type: the autoregressive type's (LeRobot's default pipelines; actions stay in
raw units, the flow expert standardizes them with the dataset stats it stores), under the name LeRobot's factory
looks up for this type."""

from ..actioncodec.processor_actioncodec import make_actioncodec_pre_post_processors

make_actioncodec_ki_pre_post_processors = make_actioncodec_pre_post_processors
