"""The autoregressive `actioncodec` policy: layout, decoding, fallback, save/load (both backbones where shared)."""

import json
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.processor import NormalizerProcessorStep, TransitionKey

from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.embodiments import EmbodimentSpec, load_registry
from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy
from lerobot_actioncodec.policies.continuation import leftover_actions, switch_gaps
from lerobot_actioncodec.tokenizers.interface import TokenSequences

from .helpers import (
    ACTION_DIM,
    COMPACT_HEAD,
    FPS,
    POLICY_FEATURES,
    TINY_TOKENIZER_ARGS,
    TINY_VLM,
    lerobot_train,
    policy_batch,
    tiny_policy,
)

FEATURES = POLICY_FEATURES
SMALL = {**COMPACT_HEAD, "num_layers": 1}
BACKBONES = pytest.mark.parametrize("backbone", [{}, TINY_VLM], ids=["compact", "smolvlm"])


def make_policy(tokenizer_dir, **overrides) -> ActionCodecPolicy:
    torch.manual_seed(0)
    return ActionCodecPolicy(ActionCodecConfig(tokenizer_path=str(tokenizer_dir), **{**FEATURES, **SMALL, **overrides}))


def make_batch(size: int = 4) -> dict:
    return policy_batch(size)


def test_config_reads_the_tokenizer_and_asks_for_one_chunk(tokenizer_dir):
    cfg = ActionCodecConfig(tokenizer_path=str(tokenizer_dir), **FEATURES)
    assert cfg.action_delta_indices == list(range(10))
    info = {"kind": "actioncodec", "chunk_length": 10, "action_dim": 3, "vocab_size": 64, "fixed_length": 4,
            "longest_fit_sequence": None, "token_levels": [[4, 0, 64]], "absolute_positions": False,
            "plan_horizon": None}  # fmt: skip
    assert cfg.tokenizer_info == info and (cfg.layout.positions, cfg.layout.head_vocab_size) == (4, 64)
    assert cfg.invalid_action == "zeros"  # delta actions: no motion is a zero action


def test_an_absolute_position_embodiment_holds_its_position_by_default(tmp_path):
    """An invalid chunk on an arm driven by absolute joint targets must hold it, never command every joint to 0:
    the tokenizer's embodiment spec (configs/embodiments.json's so100) makes "hold" the default."""
    arm = EmbodimentSpec(fps=FPS, action_dim=3, absolute_positions=True)
    path = tmp_path / "pretrained_model"
    tiny_policy(embodiment="arm", embodiments={"arm": arm}).save_pretrained(path)
    assert ActionCodecConfig(tokenizer_path=str(path), **FEATURES).invalid_action == "hold"
    assert ActionCodecConfig(tokenizer_path=str(path), invalid_action="zeros", **FEATURES).invalid_action == "zeros"
    assert load_registry("configs/embodiments.json")["so100"].absolute_positions
    registry = tmp_path / "registry.json"
    registry.write_text('{"arm": {"fps": 10, "action_dim": 3, "absolute_positions": "yes"}}')
    with pytest.raises(ValueError, match="embodiment 'arm' in .*absolute_positions='yes', expected true or false"):
        load_registry(registry)


def test_token_layout_loss_on_action_tokens_only_and_causal(tokenizer_dir):
    policy = make_policy(tokenizer_dir)
    batch = make_batch()
    tokens, targets = policy.target_tokens(batch["action"])
    assert torch.equal(tokens, targets)  # a fixed budget: every position is a target
    prefix = policy._prefix(batch)
    assert tokens.shape == (4, 4) and prefix.shape == (4, 1 * 2 + 1 + 1, 32)  # 2 cameras of 1 patch, state, task
    logits = policy.backbone(prefix, tokens)
    assert logits.shape == (4, 4, 64)  # one prediction per action token, over the codebook only
    loss, logs = policy.forward(batch)
    assert torch.allclose(loss, F.cross_entropy(logits.reshape(-1, 64), tokens.reshape(-1)))
    changed = tokens.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 64
    assert torch.equal(policy.backbone(prefix, changed), logits)  # the last target never feeds a prediction
    changed[:, 1] = (changed[:, 1] + 1) % 64
    again = policy.backbone(prefix, changed)
    assert torch.equal(again[:, :2], logits[:, :2]) and not torch.equal(again[:, 2:], logits[:, 2:])
    assert 0 <= logs["token_accuracy"] <= 1


@BACKBONES
@pytest.mark.parametrize(("temperature", "top_k"), [(0.0, None), (1.0, None), (2.0, 3)])
def test_decoding_always_gives_exactly_n_valid_tokens(tokenizer_dir, backbone, temperature, top_k):
    policy = make_policy(tokenizer_dir, temperature=temperature, top_k=top_k, **backbone).eval()
    tokens = policy.predict_tokens(make_batch(6))
    assert tokens.shape == (6, 4) and tokens.dtype == torch.long
    assert int(tokens.min()) >= 0 and int(tokens.max()) < 64
    chunk = policy.predict_action_chunk(make_batch(6))
    assert chunk.shape == (6, 10, ACTION_DIM) and torch.isfinite(chunk).all() and policy.invalid_chunks == 0


@BACKBONES
def test_greedy_decoding_with_cache_matches_teacher_forced_argmax(tokenizer_dir, backbone):
    policy = make_policy(tokenizer_dir, **backbone).eval()
    batch = make_batch()
    tokens = policy.predict_tokens(batch)
    logits = policy.backbone(policy._prefix(batch), tokens)
    assert torch.equal(logits.argmax(-1), tokens)


def test_invalid_sequences_become_no_motion_and_are_counted(tokenizer_dir):
    policy = make_policy(tokenizer_dir).eval()
    tokens = torch.tensor([[1, 2, 3, 4], [1, 2, 64, 4], [-1, 0, 0, 0]])
    chunk = policy.decode_tokens(tokens)
    assert policy.invalid_chunks == 2
    assert torch.equal(chunk[1:], torch.zeros(2, 10, ACTION_DIM)) and chunk[0].abs().sum() > 0
    assert torch.allclose(chunk[0], policy.tokenizer.decode(TokenSequences.fixed(tokens[:1])).actions[0])
    assert policy.repaired_chunks == 2  # out-of-range ids are repaired by the tokenizer, then not executed

    execute = make_policy(tokenizer_dir, on_repaired_chunk="execute").eval()
    executed = execute.decode_tokens(tokens)
    assert (execute.invalid_chunks, execute.repaired_chunks) == (0, 2) and executed[1:].abs().sum() > 0

    hold = make_policy(tokenizer_dir, invalid_action="hold").eval()
    hold._last_action = torch.tensor([[0.5, -1.0, 2.0]])
    held = hold.decode_tokens(torch.tensor([[64, 0, 0, 0]]))
    assert torch.equal(held, torch.tensor([0.5, -1.0, 2.0]).expand(1, 10, 3))


JOINT_STATE = {
    **FEATURES,
    "input_features": {
        **FEATURES["input_features"],
        "observation.state": PolicyFeature(FeatureType.STATE, (ACTION_DIM,)),
    },
}
STATE_STATS = {"observation.state": {"mean": np.array([10.0, -20.0, 50.0]), "std": np.array([2.0, 4.0, 0.5])}}


def test_hold_before_the_first_action_holds_the_observed_position_in_raw_units(tokenizer_dir):
    """An absolute-position arm (state and action of one size) whose first chunk is invalid stays where it is."""
    config = ActionCodecConfig(tokenizer_path=str(tokenizer_dir), invalid_action="hold", **{**JOINT_STATE, **SMALL})
    policy = ActionCodecPolicy(config, dataset_stats=STATE_STATS).eval()
    raw = torch.tensor([[12.0, -16.0, 50.25]])
    normalizer = NormalizerProcessorStep(features=config.input_features, norm_map=config.normalization_mapping,
                                         stats=STATE_STATS)  # fmt: skip
    batch = policy_batch(1)
    batch["observation.state"] = normalizer({TransitionKey.OBSERVATION: {"observation.state": raw}})[
        TransitionKey.OBSERVATION]["observation.state"]  # fmt: skip
    policy._prefix(batch)  # the state the next chunk is predicted from
    held = policy.decode_tokens(torch.tensor([[64, 0, 0, 0]]))
    torch.testing.assert_close(held, raw.unsqueeze(1).expand(1, 10, 3))
    assert bool(policy.state_dict()["state_holdable"])  # saved with the weights: a loaded checkpoint holds too

    unknown = ActionCodecPolicy(config).eval()  # no stats: the position cannot be read, so it refuses to guess
    unknown._prefix(batch)
    with pytest.raises(RuntimeError, match="invalid_action='hold': the first chunk is invalid and there is nothing"):
        unknown.decode_tokens(torch.tensor([[64, 0, 0, 0]]))


def test_select_action_runs_n_action_steps_per_prediction(tokenizer_dir, monkeypatch):
    policy = make_policy(tokenizer_dir, n_action_steps=3).eval()
    calls = []
    original = policy.predict_chunk
    monkeypatch.setattr(policy, "predict_chunk", lambda b: calls.append(1) or original(b))
    batch = make_batch(2)
    actions = [policy.select_action(batch) for _ in range(7)]
    assert len(calls) == 3 and all(a.shape == (2, ACTION_DIM) for a in actions)
    policy.reset()
    policy.select_action(batch)
    assert len(calls) == 4
    episode = policy._episode
    policy.drop_queued_actions()  # a new instruction: predict afresh, same episode
    policy.select_action(batch)
    assert len(calls) == 5 and policy._episode == episode
    for name in ("_queues", "_action_queue"):  # what LeRobot's own drop_queued_actions clears, where it has one
        queue = getattr(policy, name, None)
        if queue is not None:
            queue.clear()
    policy.select_action(batch)
    assert len(calls) == 6


@BACKBONES
def test_save_load_round_trip_predicts_identical_actions_without_the_tokenizer_dir(tokenizer_dir, tmp_path, backbone):
    moved = tmp_path / "tok"
    shutil.copytree(tokenizer_dir, moved)
    policy = make_policy(moved, **backbone).eval()
    policy.save_pretrained(tmp_path / "policy")
    shutil.rmtree(moved)  # the checkpoint carries the tokenizer's config and weights
    loaded = ActionCodecPolicy.from_pretrained(tmp_path / "policy").eval()
    batch = make_batch()
    assert torch.equal(loaded.predict_action_chunk(batch), policy.predict_action_chunk(batch))


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"backbone": "huge"}, "backbone='huge'"),
        ({"invalid_action": "stop"}, "invalid_action='stop'"),
        ({"hidden_size": 33}, "hidden_size=33: expected a multiple of num_heads=2"),
        ({"temperature": -1.0}, "temperature=-1.0"),
        ({"top_k": 0}, "top_k=0"),
        ({"n_action_steps": 11}, r"n_action_steps=11: expected 1..chunk_length=10"),
        ({"embodiment": "so100"}, "embodiment='so100': unknown; this tokenizer knows"),
        ({"on_repaired_chunk": "guess"}, "on_repaired_chunk='guess'"),
        ({"max_action_tokens": 8}, "max_action_tokens=8: the actioncodec tokenizer always emits 4 tokens"),
    ],
)
def test_bad_config_values(tokenizer_dir, overrides, match):
    with pytest.raises(InvalidConfigError, match=match):
        make_policy(tokenizer_dir, **overrides)


def test_tokenizer_path_errors(tmp_path, tokenizer_dir):
    with pytest.raises(ValueError, match="tokenizer_path is not set"):
        ActionCodecConfig(**FEATURES).action_delta_indices
    with pytest.raises(InvalidConfigError, match="expected a saved action tokenizer"):
        ActionCodecConfig(tokenizer_path=str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"type": "act"}))
    with pytest.raises(InvalidConfigError, match="holds type='act'; expected 'actioncodec_tokenizer'"):
        ActionCodecConfig(tokenizer_path=str(tmp_path))
    wrong_dim = {**FEATURES, "output_features": {"action": PolicyFeature(FeatureType.ACTION, (5,))}}
    with pytest.raises(ValueError, match="dataset action dim=5 but the actioncodec tokenizer has action_dim=3"):
        ActionCodecPolicy(ActionCodecConfig(tokenizer_path=str(tokenizer_dir), **{**wrong_dim, **SMALL}))
    no_camera = {**FEATURES, "input_features": {"observation.state": PolicyFeature(FeatureType.STATE, (2,))}}
    with pytest.raises(ValueError, match="no camera"):
        ActionCodecPolicy(ActionCodecConfig(tokenizer_path=str(tokenizer_dir), **{**no_camera, **SMALL}))


@pytest.mark.slow
def test_lerobot_train_trains_the_policy_on_a_trained_tokenizer(tiny_dataset, tmp_path):
    repo_id, root = tiny_dataset
    tokenizer = lerobot_train(
        repo_id, root, tmp_path / "tok", "--policy.type=actioncodec_tokenizer", *TINY_TOKENIZER_ARGS
    )
    small = [
        "--policy.backbone=compact",
        "--policy.image_size=16",
        "--policy.hidden_size=32",
        "--policy.num_layers=1",
        "--policy.num_heads=2",
    ]
    ckpt = lerobot_train(repo_id, root, tmp_path / "pol", "--policy.type=actioncodec",
                         f"--policy.tokenizer_path={tokenizer}", *small)  # fmt: skip
    policy = ActionCodecPolicy.from_pretrained(ckpt).eval()
    batch = {"observation.images.front": torch.rand(2, 3, 8, 8), "observation.state": torch.randn(2, 3),
             "task": ["reach the red block"] * 2}  # fmt: skip
    assert policy.predict_action_chunk(batch).shape == (2, 10, 3)


def test_real_time_chunking_keeps_the_candidate_that_continues_the_leftover(tokenizer_dir, monkeypatch):
    """lerobot-rollout --inference.type=rtc: the usual chunk and rtc_candidates - 1 sampled ones (one batch) are
    decoded from one observed prefix; the one closest to the leftover at the switch step is executed. Without a
    leftover, only the usual chunk."""
    from lerobot.rollout.inference.rtc import supports_rtc_inference

    policy = make_policy(tokenizer_dir, rtc_candidates=3, rtc_temperature=0.7).eval()
    assert supports_rtc_inference(policy)  # LeRobot's own check: supports_rtc() and the call signature
    usual = torch.zeros(2, 10, 3)
    sampled = torch.stack([torch.full((10, 3), value) for value in (5.0, 1.0, 1.0, 5.0)])  # rows 0, 0, 1, 1
    calls, observed = [], []

    def decoded(observation, temperature=None):
        calls.append((temperature, len(observation)))
        return usual if temperature is None else sampled

    original_observe = policy.observe
    monkeypatch.setattr(policy, "observe", lambda batch: observed.append(1) or original_observe(batch))
    monkeypatch.setattr(policy, "chunk_from", decoded)
    # LeRobot's engine passes the leftover as [H, D], padded with zero rows to its execution horizon
    leftover = torch.cat([torch.full((4, 3), 4.0), torch.zeros(2, 3)])
    chosen = policy.predict_action_chunk(make_batch(2), inference_delay=5, prev_chunk_left_over=leftover)
    assert torch.equal(chosen, torch.full((2, 10, 3), 5.0))  # row 0's first sample, row 1's second
    assert calls == [(None, 2), (0.7, 4)] and len(observed) == 1  # the prefix once; the samples in one batch
    calls.clear()
    assert torch.equal(policy.predict_action_chunk(make_batch(2)), usual) and calls == [(None, 2)]


def test_real_time_chunking_with_the_real_head(tokenizer_dir):
    policy = make_policy(tokenizer_dir, rtc_candidates=4).eval()
    batch = make_batch(2)
    torch.manual_seed(3)
    greedy = policy.predict_action_chunk(batch)
    leftover = greedy[0, :6] + 0.5  # the previous plan, somewhat off the greedy chunk
    chosen = policy.predict_action_chunk(batch, inference_delay=2, prev_chunk_left_over=leftover)
    assert chosen.shape == greedy.shape
    gaps = switch_gaps(torch.stack([greedy, chosen], 1), leftover, 2)
    assert (gaps[:, 1] <= gaps[:, 0]).all()  # never worse at the switch than the usual chunk


def test_switch_gaps_strip_padding_and_check_shapes():
    candidates = torch.stack([torch.zeros(1, 5, 2), torch.ones(1, 5, 2)], 1)  # [B=1, K=2, T=5, D=2]
    leftover = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])  # the last row is padding
    assert leftover_actions(leftover).shape == (1, 2, 2)
    torch.testing.assert_close(switch_gaps(candidates, leftover, 4), torch.tensor([[2**0.5, 0.0]]))  # its last row
    torch.testing.assert_close(switch_gaps(candidates, leftover, 0), torch.tensor([[0.0, 2**0.5]]))
    with pytest.raises(ValueError, match="prev_chunk_left_over .* does not match"):
        switch_gaps(candidates, torch.zeros(3, 4), 0)
    with pytest.raises(ValueError, match="inference_delay=-1"):
        switch_gaps(candidates, leftover, -1)
