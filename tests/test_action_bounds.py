"""The action bounds at the end of every control policy's postprocessor (policies/action_bounds.py): the range comes
from the dataset's stats, every clamped value is counted and logged, a non-finite action is refused, the bounds are
saved with the checkpoint, and no action a policy emits leaves them, whatever its weights or tokens."""

import logging

import numpy as np
import pytest
import torch
from lerobot.processor import PolicyProcessorPipeline
from lerobot.processor.converters import policy_action_to_transition, transition_to_policy_action

from lerobot_actioncodec.policies.action_bounds import ActionBoundsProcessorStep, action_bounds
from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy
from lerobot_actioncodec.policies.actioncodec.processor_actioncodec import make_actioncodec_pre_post_processors
from lerobot_actioncodec.policies.actioncodec_ki.configuration_actioncodec_ki import ActionCodecKIConfig
from lerobot_actioncodec.policies.actioncodec_ki.modeling_actioncodec_ki import ActionCodecKIPolicy

from .helpers import COMPACT_HEAD, POLICY_FEATURES, STATS, policy_batch

NARROW = {"action": {**STATS["action"], "min": np.array([-0.1, -0.2, 0.0]), "max": np.array([0.1, 0.2, 0.5])}}


def test_bounds_are_the_demonstrated_range_widened_by_the_margin():
    low, high = action_bounds(NARROW, margin=0.1)
    torch.testing.assert_close(low, torch.tensor([-0.12, -0.24, -0.05]))
    torch.testing.assert_close(high, torch.tensor([0.12, 0.24, 0.55]))


@pytest.mark.parametrize(
    ("stats", "margin", "message"),
    [
        (NARROW, -0.1, "action_bounds_margin=-0.1: expected a number >= 0"),
        ({"action": {"mean": np.zeros(3)}}, 0.05, "have no 'min'/'max'"),
        (None, 0.05, "have no 'min'/'max'"),
        ({"action": {"min": np.array([1.0, np.nan]), "max": np.array([0.0, 1.0])}}, 0.05, "min <= max"),
    ],
)
def test_bad_stats_or_margin_are_refused_with_the_field_named(stats, margin, message):
    with pytest.raises(ValueError, match=message):
        action_bounds(stats, margin)


def test_values_outside_are_clamped_counted_and_logged_inside_untouched(caplog):
    step = ActionBoundsProcessorStep.from_stats(NARROW, margin=0.0)
    inside = torch.tensor([[0.05, -0.1, 0.25]])
    assert torch.equal(step.action(inside), inside) and step.clamped_values == 0
    chunk = torch.tensor([[[5.0, -0.1, 0.25], [0.0, -9.0, 7.0]]])  # [B, T, D]
    with caplog.at_level(logging.WARNING):
        out = step.action(chunk)
    assert torch.equal(out, torch.tensor([[[0.1, -0.1, 0.25], [0.0, -0.2, 0.5]]]))
    assert step.clamped_values == 3 and "clamped 3 action value(s) in dims [0, 1, 2]" in caplog.text


def test_a_non_finite_or_misshapen_action_is_refused_not_sent():
    step = ActionBoundsProcessorStep.from_stats(NARROW)
    with pytest.raises(ValueError, match="non-finite action"):
        step.action(torch.tensor([[0.0, float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="action last dim=2: expected 3"):
        step.action(torch.zeros(1, 2))
    with pytest.raises(RuntimeError, match="has no bounds"):
        ActionBoundsProcessorStep().action(torch.zeros(1, 3))


def test_the_bounds_are_saved_with_the_postprocessor_and_load_back(tokenizer_dir, tmp_path):
    config = ActionCodecConfig(tokenizer_path=str(tokenizer_dir), **{**POLICY_FEATURES, **COMPACT_HEAD})
    _, post = make_actioncodec_pre_post_processors(config, NARROW)
    assert isinstance(post.steps[-1], ActionBoundsProcessorStep)
    post.save_pretrained(tmp_path)
    loaded = PolicyProcessorPipeline.from_pretrained(
        tmp_path,
        config_filename=f"{post.name}.json",
        to_transition=policy_action_to_transition,
        to_output=transition_to_policy_action,
    )  # as LeRobot's factory
    step = loaded.steps[-1]
    assert isinstance(step, ActionBoundsProcessorStep) and step.margin == config.action_bounds_margin
    torch.testing.assert_close(step.high, post.steps[-1].high)
    assert loaded(torch.full((1, 3), 100.0)).max() <= step.high.max()
    off = ActionCodecConfig(tokenizer_path=str(tokenizer_dir), action_bounds_margin=None, **POLICY_FEATURES)
    assert not any(
        isinstance(s, ActionBoundsProcessorStep) for s in make_actioncodec_pre_post_processors(off, NARROW)[1].steps
    )


def _scrambled(policy: torch.nn.Module, scale: float) -> torch.nn.Module:
    """Adversarial weights: every parameter replaced by large random values."""
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for parameter in policy.parameters():
            parameter.copy_(scale * torch.randn(parameter.shape, generator=generator))
    return policy


@pytest.mark.parametrize("head", ["actioncodec", "actioncodec_ki"])
def test_no_emitted_action_leaves_the_bounds_whatever_the_weights_or_tokens(tokenizer_dir, head):
    overrides = {**POLICY_FEATURES, **COMPACT_HEAD, "temperature": 5.0}
    if head == "actioncodec":
        config = ActionCodecConfig(tokenizer_path=str(tokenizer_dir), **overrides)
        policy = ActionCodecPolicy(config)
    else:
        config = ActionCodecKIConfig(tokenizer_path=str(tokenizer_dir), **overrides)
        policy = ActionCodecKIPolicy(config, dataset_stats=STATS)
    _, post = make_actioncodec_pre_post_processors(config, NARROW)
    bounds = post.steps[-1]
    _scrambled(policy.backbone, 10.0)
    if head == "actioncodec_ki":
        _scrambled(policy.expert, 10.0)
    torch.manual_seed(0)
    chunk = policy.predict_action_chunk(policy_batch(8))
    assert chunk.abs().max() > 0.6  # the raw chunk does leave the narrow range ...
    emitted = post(chunk)
    assert ((emitted >= bounds.low) & (emitted <= bounds.high)).all() and bounds.clamped_values > 0  # ... not after
    if head == "actioncodec":  # any token ids at all, including every code of the codebook
        ids = torch.randint(0, 64, (64, 4), generator=torch.Generator().manual_seed(3))
        ids[:, 0] = torch.arange(64)
        emitted = post(policy.decode_tokens(ids))
        assert ((emitted >= bounds.low) & (emitted <= bounds.high)).all()
