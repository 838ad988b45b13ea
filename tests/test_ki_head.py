"""The knowledge-insulation head (`actioncodec_ki`): one backbone pass gives the token logits and the expert's KV
cache, no gradient flows from the flow expert into the backbone, inference integrates the expert's velocity with
no token decoding (LeRobot's Euler loop, its RTC guidance), learning, save/load and bad input, on both backbones."""

import shutil

import pytest
import torch
from lerobot.policies.rtc.configuration_rtc import RTCConfig
from lerobot.rollout.inference.rtc import supports_rtc_inference

from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.policies.actioncodec_ki.configuration_actioncodec_ki import ActionCodecKIConfig
from lerobot_actioncodec.policies.actioncodec_ki.modeling_actioncodec_ki import ActionCodecKIPolicy
from lerobot_actioncodec.tokenizers.binning import BinningTokenizer
from lerobot_actioncodec.tokenizers.fast import FastTokenizer

from .helpers import (
    ACTION_DIM,
    COMPACT_HEAD,
    FPS,
    POLICY_FEATURES,
    STATS,
    TINY_VLM,
    policy_batch,
    smooth_actions,
    train_steps,
)

BACKBONES = pytest.mark.parametrize("backbone", [{}, TINY_VLM], ids=["compact", "smolvlm"])


def make_ki(path, stats=STATS, **overrides) -> ActionCodecKIPolicy:
    torch.manual_seed(0)
    config = ActionCodecKIConfig(tokenizer_path=str(path), **{**POLICY_FEATURES, **COMPACT_HEAD, **overrides})
    return ActionCodecKIPolicy(config, dataset_stats=stats)


def backbone_grads(policy: ActionCodecKIPolicy, batch: dict) -> tuple[dict, dict]:
    """Gradients of one training loss: the backbone's and the expert's, by parameter name."""
    policy.zero_grad()
    torch.manual_seed(1)  # the same noise and times every call
    loss, _ = policy.forward(batch)
    loss.backward()

    def grads(module: torch.nn.Module) -> dict:
        return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}

    return grads(policy.backbone), grads(policy.expert)


@BACKBONES
def test_no_gradient_flows_from_the_flow_expert_into_the_backbone(tokenizer_dir, backbone):
    policy = make_ki(tokenizer_dir, **backbone)
    batch = policy_batch(4)
    with_flow, expert = backbone_grads(policy, batch)
    assert expert and all(g.abs().sum() > 0 for n, g in expert.items() if "velocity_out" in n)
    policy.config.flow_loss_weight = 0.0
    tokens_only, _ = backbone_grads(policy, batch)
    assert with_flow.keys() == tokens_only.keys() and with_flow  # the token loss trains the backbone ...
    for name, grad in with_flow.items():  # ... and the flow loss adds nothing to it
        torch.testing.assert_close(grad, tokens_only[name], rtol=0, atol=0, msg=name)


@BACKBONES
def test_one_backbone_pass_gives_the_token_logits_and_the_prefix_cache(tokenizer_dir, backbone):
    policy = make_ki(tokenizer_dir, **backbone).eval()
    batch = policy_batch(3)
    prefix = policy._prefix(batch)
    inputs, _ = policy.target_tokens(batch["action"])
    logits, context = policy.backbone.forward_with_context(prefix, inputs)
    torch.testing.assert_close(logits, policy.backbone(prefix, inputs))
    alone = policy.backbone.encode_prefix(prefix)
    assert context.length == alone.length and torch.equal(context.mask, alone.mask)
    for ours, theirs in zip(context.cache.layers, alone.cache.layers, strict=True):
        torch.testing.assert_close(ours.keys, theirs.keys, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(ours.values, theirs.values, atol=1e-5, rtol=1e-4)


@BACKBONES
def test_flow_inference_integrates_the_velocity_and_decodes_no_token(tokenizer_dir, backbone, monkeypatch):
    policy = make_ki(tokenizer_dir, num_inference_steps=4, **backbone).eval()
    monkeypatch.setattr(policy.tokenizer, "decode", lambda *a: pytest.fail("a token was decoded"))
    calls = []
    original = policy.expert.forward
    monkeypatch.setattr(policy.expert, "forward", lambda *a: calls.append(1) or original(*a))
    batch, noise = policy_batch(2), torch.randn(2, FPS, ACTION_DIM)
    chunk = policy.predict_action_chunk(batch, noise=noise)
    assert chunk.shape == (2, FPS, ACTION_DIM) and torch.isfinite(chunk).all() and len(calls) == 4
    torch.testing.assert_close(policy.predict_action_chunk(batch, noise=noise), chunk)  # the cache was restored


def test_tokens_inference_decodes_the_backbones_tokens(tokenizer_dir):
    policy = make_ki(tokenizer_dir, ki_inference="tokens").eval()
    assert not policy.supports_rtc()
    batch = policy_batch(2)
    expected = policy.decode_tokens(policy.predict_tokens(batch))
    assert torch.equal(policy.predict_action_chunk(batch), expected)


@pytest.mark.parametrize("kind", ["fast", "binning"])
def test_ki_on_peer_tokens_learns_both_losses_and_flows_without_their_tokens(kind, tmp_path, monkeypatch):
    """The paper's Table 1 KI column: the backbone learns FAST's variable-length (end-token) or binning's tokens,
    the expert learns the flow from the same cache, and flow inference never decodes a token."""
    chunks = smooth_actions(200, FPS, seed=3)
    fit = {"fast": lambda: FastTokenizer.fit(chunks, vocab_size=300), "binning": lambda: BinningTokenizer.fit(chunks)}
    fit[kind]().save_pretrained(tmp_path)
    policy = make_ki(tmp_path, num_inference_steps=3)
    assert policy.layout.variable == (kind == "fast")
    batch = policy_batch(4)
    torch.manual_seed(2)
    logs = train_steps(policy, 30, batch)
    for name in ("token_loss", "flow_loss"):
        assert logs[-1][name] < logs[0][name], name
    policy.eval()
    monkeypatch.setattr(policy.tokenizer, "decode", lambda *a: pytest.fail("a token was decoded"))
    chunk = policy.predict_action_chunk(batch)
    assert chunk.shape == (4, FPS, ACTION_DIM) and torch.isfinite(chunk).all()


@pytest.mark.slow
def test_flow_learns_a_fixed_batch_in_the_datasets_units(tokenizer_dir):
    policy = make_ki(tokenizer_dir, num_layers=1, flow_loss_weight=1.0)
    batch = policy_batch(4)
    torch.manual_seed(2)
    logs = train_steps(policy, 200, batch)
    first = sum(log["flow_loss"] for log in logs[:10]) / 10
    last = sum(log["flow_loss"] for log in logs[-10:]) / 10
    assert last < 0.5 * first
    policy.eval()
    torch.manual_seed(3)
    chunk = policy.predict_action_chunk(batch)
    spread = (batch["action"] - torch.as_tensor(STATS["action"]["mean"], dtype=torch.float32)).abs().mean()
    # untrained: 0.98 from the targets, which are 0.75 from the stats' mean; trained: 0.42
    assert (chunk - batch["action"]).abs().mean() < 0.7 * spread


@BACKBONES
def test_save_load_keeps_the_expert_and_the_action_stats(tokenizer_dir, backbone, tmp_path):
    moved = shutil.copytree(tokenizer_dir, tmp_path / "tok")
    policy = make_ki(moved, **backbone).eval()
    policy.save_pretrained(tmp_path / "policy")
    shutil.rmtree(moved)
    loaded = ActionCodecKIPolicy.from_pretrained(tmp_path / "policy").eval()
    assert torch.equal(loaded.action_std, torch.as_tensor(STATS["action"]["std"], dtype=torch.float32))
    batch, noise = policy_batch(2), torch.randn(2, FPS, ACTION_DIM)
    assert torch.equal(loaded.predict_action_chunk(batch, noise=noise), policy.predict_action_chunk(batch, noise=noise))


def test_rtc_guidance_pulls_the_frozen_steps_towards_the_leftover(tokenizer_dir):
    """LeRobot's RTC processor guides the integration: the steps already committed (inference_delay) move towards
    the previous chunk's leftover, given in raw units as this policy emitted them."""
    policy = make_ki(tokenizer_dir).eval()
    assert supports_rtc_inference(policy)  # what lerobot-rollout --inference.type=rtc checks
    batch, noise = policy_batch(1), torch.randn(1, FPS, ACTION_DIM)
    free = policy.predict_action_chunk(batch, noise=noise)
    leftover = free[0] + 3.0  # far from what the policy would do
    policy.config.rtc_config = RTCConfig(execution_horizon=FPS, max_guidance_weight=10.0)
    policy.init_rtc_processor()
    guided = policy.predict_action_chunk(batch, noise=noise, inference_delay=3, prev_chunk_left_over=leftover)
    before = (free[0, :3] - leftover[:3]).abs().mean()
    after = (guided[0, :3] - leftover[:3]).abs().mean()
    assert after < 0.8 * before


def test_training_without_action_stats_is_refused(tokenizer_dir):
    policy = make_ki(tokenizer_dir, stats=None)
    with pytest.raises(ValueError, match="actioncodec_ki has no action stats"):
        policy.forward(policy_batch(2))


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (dict(ki_inference="sample"), "ki_inference='sample': expected one of"),
        (dict(num_inference_steps=0), "num_inference_steps=0: expected > 0"),
        (dict(flow_loss_weight=-1.0), "flow_loss_weight=-1.0: expected >= 0"),
        (dict(min_period=5.0), "min_period=5.0: expected below max_period=4.0"),
    ],
)
def test_bad_settings_name_the_field(tokenizer_dir, overrides, match):
    with pytest.raises(InvalidConfigError, match=match):
        make_ki(tokenizer_dir, **overrides)


def test_bad_input_gets_a_clear_error(tokenizer_dir):
    wrong_dim = {"action": {"mean": STATS["action"]["mean"][:2], "std": STATS["action"]["std"][:2]}}
    with pytest.raises(ValueError, match=r"action.mean shape=\(2,\): expected \(3,\)"):
        make_ki(tokenizer_dir, stats=wrong_dim)
    policy = make_ki(tokenizer_dir).eval()
    batch = policy_batch(2)
    batch["observation.state"][0, 1] = float("nan")
    with pytest.raises(ValueError, match="observation.state has non-finite values"):
        policy.predict_action_chunk(batch)
    with pytest.raises(ValueError, match=r"noise shape=\(2, 5, 3\): expected \[2, 10, 3\]"):
        policy.predict_action_chunk(policy_batch(2), noise=torch.randn(2, 5, 3))
