"""Coarse-to-Control in the package: the joint-mode tokenizer (plan mode as a soft-prompt slot over one codebook,
its statistics from the dataset's plans) and the plan-then-execute option of the autoregressive head (targets
[plan, exec], only the exec tokens decoded; shared or separate vocabularies)."""

import json

import pytest
import torch
from lerobot.datasets.lerobot_dataset import LeRobotDatasetMetadata

from lerobot_actioncodec.cli.bench import main as bench_main
from lerobot_actioncodec.coarse_plan import (
    adjacent_plan_pairs,
    coarse_plan,
    plan_mode_spec,
    plan_statistics,
    support_overlap,
    window_plans,
)
from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.embodiments import EmbodimentSpec
from lerobot_actioncodec.evaluation import load_episode_actions
from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import PLAN_TOKENIZER_FILES, ActionCodecPolicy
from lerobot_actioncodec.policies.actioncodec_pd.configuration_actioncodec_pd import ActionCodecPDConfig
from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
    ActionCodecTokenizerPolicy,
)
from lerobot_actioncodec.policies.peer_tokenizer.configuration_peer_tokenizer import PeerTokenizerConfig
from lerobot_actioncodec.policies.peer_tokenizer.modeling_peer_tokenizer import PeerTokenizerPolicy
from lerobot_actioncodec.prediction_probe import ProbeTotals, exec_positions_from, probe_batch
from lerobot_actioncodec.tokenizers.c2c import C2CTokenizer
from lerobot_actioncodec.tokenizers.interface import TokenSequences
from lerobot_actioncodec.tokenizers.registry import load_action_tokenizer

from .helpers import (
    COMPACT_HEAD,
    POLICY_FEATURES,
    STATS,
    TASKS,
    TINY_TOKENIZER_ARGS,
    lerobot_train,
    policy_batch,
    smooth_actions,
    tiny_config,
    train_steps,
)

PLAN_SECONDS = 2.0  # 10 Hz, 1 s chunks: K = 10 plan steps of c = 2 actions, H_p = 20
HORIZON = 20
SMALL = {**COMPACT_HEAD, "num_layers": 1}


def joint_tokenizer(tiny_dataset, seed: int = 0, **overrides) -> ActionCodecTokenizerPolicy:
    """A tiny joint-mode tokenizer built as lerobot-train builds it on the tiny dataset (its plans' statistics)."""
    repo_id, root = tiny_dataset
    torch.manual_seed(seed)
    config = tiny_config(plan_seconds=PLAN_SECONDS, **overrides)
    return ActionCodecTokenizerPolicy(config, dataset_stats=STATS, dataset_meta=LeRobotDatasetMetadata(repo_id, root))


@pytest.fixture(scope="module")
def joint_dir(tiny_dataset, tmp_path_factory):
    path = tmp_path_factory.mktemp("joint") / "pretrained_model"
    joint_tokenizer(tiny_dataset).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def plan_only_dir(tiny_dataset, tmp_path_factory):
    """The separate-tokenizer ablation's planning codec: trained (here: built) on plans alone, its own codebook."""
    path = tmp_path_factory.mktemp("plan_only") / "pretrained_model"
    joint_tokenizer(tiny_dataset, seed=1, train_execution=False).save_pretrained(path)
    return path


def plan_batch(size: int = 8) -> dict:
    actions = smooth_actions(size, HORIZON + 1)
    return {"action": actions, "action_is_pad": torch.zeros(size, HORIZON + 1, dtype=torch.bool),
            "task": [TASKS[i % 2] for i in range(size)]}  # fmt: skip


# ------------------------------------------------------------------------------------------------ the plan mode
def test_the_plan_mode_has_the_execution_chunks_length_and_spans_the_plan_horizon():
    execution = EmbodimentSpec(fps=20, action_dim=7, action_names=list("xyzrpYg"), absolute_positions=True)
    plan = plan_mode_spec(execution, plan_seconds=8.0)  # the paper's LIBERO setting: H_p = 160, K = H_e = 20
    assert plan.chunk_length == execution.chunk_length == 20
    assert plan.chunk_seconds == 8.0 and plan.fps == 2.5  # a plan step lasts c = 8 actions = 0.4 s
    assert (plan.action_dim, plan.action_names, plan.absolute_positions) == (7, execution.action_names, True)


def test_window_plans_pad_each_episode_end_as_lerobot_does_and_feed_the_statistics():
    episode = torch.arange(12.0).view(6, 2)  # 6 steps of (dx, gripper)
    plans = window_plans(episode, horizon=4, plan_steps=2, gripper_dims=[1])
    assert plans.shape == (6, 2, 2)
    torch.testing.assert_close(plans[0], torch.tensor([[2.0, 3.0], [10.0, 7.0]]))  # sums of dx, last gripper
    torch.testing.assert_close(plans[4], torch.tensor([[18.0, 11.0], [0.0, 11.0]]))  # past the end: no motion
    stats = plan_statistics([episode], horizon=4, plan_steps=2, gripper_dims=[1])
    flat = plans.flatten(0, 1)
    torch.testing.assert_close(torch.tensor(stats["mean"]), flat.mean(0))
    torch.testing.assert_close(torch.tensor(stats["max"]), flat.amax(0))
    assert set(stats) == {"mean", "std", "min", "max", "q01", "q99"}
    with pytest.raises(ValueError, match="episodes is empty"):
        plan_statistics([], 4, 2)


def test_a_joint_mode_tokenizer_adds_its_plan_mode_with_the_datasets_plan_statistics(tiny_dataset, joint_dir):
    policy = joint_tokenizer(tiny_dataset)
    config = policy.config
    assert list(config.embodiments) == ["default", "default:plan"]
    assert config.action_delta_indices == list(range(HORIZON + 1))  # the plan window and the TCL shift
    plan = config.embodiments["default:plan"]
    episodes = load_episode_actions(*tiny_dataset).actions
    # every window of every episode, the dataset's `gripper` dimension taking its last value; kept in config.json
    expected = plan_statistics([torch.from_numpy(e) for e in episodes], HORIZON, 10, gripper_dims=[2])
    assert plan.action_stats == expected
    index, _ = policy.tokenizer.resolve("default:plan")
    torch.testing.assert_close(policy.tokenizer.normalizer.offset[index, :3], torch.tensor(expected["mean"]))
    reloaded = ActionCodecTokenizerPolicy.from_pretrained(joint_dir)
    assert reloaded.config.embodiments["default:plan"].action_stats == expected
    assert reloaded.tokenizer.plan_horizon() == HORIZON and reloaded.tokenizer.plan_mode() == "default:plan"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"train_execution": False}, "train_execution=False trains the plan mode alone: expected plan_seconds > 0"),
        ({"plan_seconds": -1.0}, "plan_seconds=-1.0"),
        ({"plan_seconds": 2.0, "embodiment": "arm:plan"}, "embodiment='arm:plan' is a plan mode"),
    ],
)
def test_bad_plan_settings_of_the_tokenizer(overrides, match):
    with pytest.raises(InvalidConfigError, match=match):
        tiny_config(**overrides)


def test_the_mode_condition_is_a_learned_soft_prompt_over_one_shared_codebook(tiny_dataset):
    policy = joint_tokenizer(tiny_dataset).eval()
    tokenizer, codec = policy.tokenizer, policy.tokenizer.codec
    execution, plan = (tokenizer.resolve(name)[0] for name in ("default", "default:plan"))
    chunk = torch.randn(4, 10, 3)
    exec_latents = codec.encode_latents(chunk, 10.0, execution)
    assert not torch.allclose(exec_latents, codec.encode_latents(chunk, 10.0, plan))
    with torch.no_grad():  # the same prompt for both modes: the same latents, so the prompt is the condition
        codec.encoder_prompts.prompts[plan] = codec.encoder_prompts.prompts[execution]
    torch.testing.assert_close(codec.encode_latents(chunk, 10.0, plan), exec_latents)
    # one codebook: the ids of both modes index the same vectors, and one id row decodes in either mode
    ids = torch.randint(0, 64, (2, 4))
    as_exec, as_plan = tokenizer.decode(ids, "default"), tokenizer.decode(ids, "default:plan")
    assert as_exec.shape == as_plan.shape == (2, 10, 3) and not torch.allclose(as_exec, as_plan)
    plan_ids = tokenizer.encode(tokenizer.coarse_plan(smooth_actions(2, HORIZON)), "default:plan")
    assert plan_ids.shape == (2, 4) and int(plan_ids.max()) < 64
    with pytest.raises(ValueError, match=r"expected \[B, H_p=20, D\]"):
        tokenizer.coarse_plan(smooth_actions(2, 10))


def test_training_optimises_both_modes_on_every_batch_or_the_plan_mode_alone(tiny_dataset):
    joint = joint_tokenizer(tiny_dataset)
    logs = train_steps(joint, 1, plan_batch())[-1]
    assert "plan_mae_normalized" in logs and "mae_normalized" in logs
    loss, _ = joint(plan_batch())
    loss.backward()
    prompts = joint.tokenizer.codec.encoder_prompts.prompts.grad
    assert prompts[0].abs().sum() > 0 and prompts[1].abs().sum() > 0  # execution and plan prompts both learn
    plan_only = joint_tokenizer(tiny_dataset, train_execution=False)
    loss, _ = plan_only(plan_batch())
    loss.backward()
    prompts = plan_only.tokenizer.codec.encoder_prompts.prompts.grad
    assert prompts[0].abs().sum() == 0 and prompts[1].abs().sum() > 0


def test_adjacent_plan_pairs_and_the_support_overlap_of_two_code_distributions():
    episodes = [torch.arange(12.0).view(6, 2), torch.ones(4, 2)]
    now, later = adjacent_plan_pairs(episodes, horizon=4, plan_steps=2, gripper_dims=[1])
    assert now.shape == later.shape == (3 + 5, 2, 2)  # every step but each episode's last
    torch.testing.assert_close(later[:5], window_plans(episodes[0], 4, 2, [1])[1:])
    assert len(adjacent_plan_pairs(episodes, 4, 2, max_pairs=3)[0]) == 3
    assert support_overlap(torch.tensor([0, 0, 1, 1]), torch.tensor([1, 1, 2, 2]), 4) == 0.5
    assert support_overlap(torch.tensor([3]), torch.tensor([3, 3]), 4) == 1.0


def test_bench_scores_plans_in_the_plan_mode_next_to_a_peer_fitted_on_plans(
    tiny_dataset, joint_dir, plan_only_dir, tmp_path, capsys
):
    repo_id, root = tiny_dataset
    out = tmp_path / "bench"
    bench_main([f"--dataset.repo_id={repo_id}", f"--dataset.root={root}", "--plans", "--tokenizers",
                f"binning,{joint_dir},{plan_only_dir}", "--max-chunks", "60", "--output-dir", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert "60 coarse plan pairs of 10 plan steps x 3 dims, each of the next H_p=20 actions at 10 fps" in printed
    summary = json.loads((out / "bench.json").read_text())
    joint, plan_only = f"actioncodec ({joint_dir}) [plan mode]", f"actioncodec ({plan_only_dir}) [plan mode]"
    assert list(summary["tokenizers"]) == ["binning", joint, plan_only] and summary["plans"]
    assert 0.0 <= summary["tokenizers"][joint]["plan_exec_support_overlap"] <= 1.0
    assert "plan_exec_support_overlap" not in summary["tokenizers"][plan_only]  # no execution mode to compare
    c2c = "c2c:steps=3,hidden=16,latent_dim=8,codebook_size=16,mode_dim=4,batch_size=16"
    bench_main([f"--dataset.repo_id={repo_id}", f"--dataset.root={root}", "--plans", "--tokenizers",
                f"{joint_dir};{c2c}", "--max-chunks", "60", "--output-dir", str(out)])  # fmt: skip
    scored = json.loads((out / "bench.json").read_text())["tokenizers"][f"{c2c} [plan mode]"]
    assert scored["tokens_mean"] == 18 and 0.0 <= scored["plan_exec_support_overlap"] <= 1.0
    assert f"support overlap of plan and execution codes, {joint}:" in printed
    with pytest.raises(ValueError, match="--plans needs a saved joint-mode"):
        bench_main([f"--dataset.repo_id={repo_id}", f"--dataset.root={root}", "--plans", "--tokenizers", "binning",
                    "--output-dir", str(out)])  # fmt: skip


# ------------------------------------------------------------------------- Coarse-to-Control's own tokenizer
C2C_TINY = dict(hidden=16, latent_dim=8, codebook_size=16, mode_dim=4, steps=20, batch_size=32)


@pytest.fixture(scope="module")
def c2c_dir(tmp_path_factory):
    """A tiny c2c tokenizer fitted on both modes: 10-step chunks, plans of the next 20 steps (gripper: dim 2)."""
    torch.manual_seed(0)
    plans = coarse_plan(smooth_actions(128, HORIZON, seed=4), 10, [2])[0]
    tokenizer = C2CTokenizer.fit_joint(smooth_actions(128, 10, seed=3), plans, HORIZON, [2], **C2C_TINY)
    path = tmp_path_factory.mktemp("c2c") / "c2c"
    tokenizer.save_pretrained(path)
    return path


def test_c2c_tokens_are_patches_times_dimensions_times_levels_over_one_vocabulary_for_both_modes(c2c_dir):
    tokenizer = load_action_tokenizer(c2c_dir)
    assert isinstance(tokenizer, C2CTokenizer) and tokenizer.plan_horizon == HORIZON
    assert tokenizer.fixed_length == 2 * 3 * 3 and tokenizer.vocab_size == 3 * 16  # the paper's 2 x 7 x 3 = 42
    plan = tokenizer.plan_tokenizer()
    assert (plan.vocab_size, plan.fixed_length, plan.plan_horizon) == (48, 18, None)
    chunks, raw = smooth_actions(4, 10), smooth_actions(4, HORIZON)
    exec_ids, plan_ids = tokenizer.encode(chunks).ids, plan.encode(tokenizer.coarse_plan(raw)).ids
    for ids in (exec_ids, plan_ids):  # level i's 6 positions take level i's 16 ids, in both modes
        assert bool(((ids // 16) == torch.arange(3).repeat_interleave(6)).all())
    same = TokenSequences.fixed(exec_ids)  # one id row means a chunk in one mode and a plan in the other
    assert not torch.allclose(tokenizer.decode(same).actions, plan.decode(same).actions)
    reloaded = C2CTokenizer.from_pretrained(c2c_dir)
    assert torch.equal(reloaded.plan_tokenizer().encode(tokenizer.coarse_plan(raw)).ids, plan_ids)
    assert torch.equal(plan.decode(same).actions, reloaded.plan_tokenizer().decode(same).actions)
    execution_only = C2CTokenizer.fit(smooth_actions(64, 10), **{**C2C_TINY, "steps": 2})
    assert execution_only.plan_horizon is None
    with pytest.raises(ValueError, match="has no plan mode"):
        execution_only.plan_tokenizer()
    with pytest.raises(ValueError, match="patches=3: expected a positive divisor of chunk_length=10"):
        C2CTokenizer.fit(smooth_actions(8, 10), steps=1, patches=3)


def test_a_policy_plans_with_a_c2c_tokenizer_and_keeps_each_position_to_its_level(c2c_dir):
    policy = plan_policy(c2c_dir, plan_mode="joint").eval()
    assert policy.layout.positions == 36 and policy.decoding_rule is not None
    ids = policy.predict_tokens(policy_batch(2), temperature=2.0)
    levels = torch.arange(3).repeat_interleave(6).repeat(2)  # plan levels, then exec levels
    assert bool(((ids // 16) == levels).all())
    assert policy.predict_action_chunk(policy_batch(2)).shape == (2, 10, 3)


def test_plan_steps_past_the_episode_end_are_reconstructed_as_the_policy_targets_hold_them(tiny_dataset):
    """A policy's plan target keeps its padding steps (no motion, the gripper held), and in a 1 s MetaWorld episode
    they are most of a plan, so the tokenizer learns to reconstruct them; a TCL pair counts while the shifted
    window starts inside the episode."""
    policy = joint_tokenizer(tiny_dataset)
    batch = plan_batch(4)
    batch["action_is_pad"][0, 5:] = True  # the episode of row 0 ends after 5 steps
    batch["action_is_pad"][1, 1:] = True  # row 1 is the last step of its episode
    group = policy._plan_pass(batch, policy.embodiment_index, None)
    assert bool(group.mask[..., :3].all()) and not group.mask[..., 3:].any()  # every step, the 3 real dimensions
    assert group.pair_valid.tolist() == [True, False, True, True]


C2C_OPTIONS = {key: C2C_TINY[key] for key in ("hidden", "latent_dim", "codebook_size", "mode_dim")}


def c2c_peer(tiny_dataset, **overrides) -> PeerTokenizerPolicy:
    """c2c as lerobot-train builds it (`--policy.type=peer_tokenizer --policy.arch=c2c`) on the tiny dataset."""
    repo_id, root = tiny_dataset
    torch.manual_seed(0)
    config = PeerTokenizerConfig(arch="c2c", arch_options=C2C_OPTIONS, plan_seconds=PLAN_SECONDS, device="cpu",
                                 output_features=POLICY_FEATURES["output_features"], **overrides)  # fmt: skip
    return PeerTokenizerPolicy(config, dataset_stats=STATS, dataset_meta=LeRobotDatasetMetadata(repo_id, root))


def test_lerobot_train_builds_c2c_with_its_plan_mode_and_the_datasets_plan_statistics(tiny_dataset, tmp_path):
    peer = c2c_peer(tiny_dataset)
    config = peer.config
    assert config.fps == 10 and config.gripper_dims == [2] and config.plan_horizon == HORIZON
    assert PeerTokenizerConfig(arch="c2c", plan_seconds=PLAN_SECONDS).action_delta_indices == list(range(126))
    assert config.action_delta_indices == list(range(HORIZON))  # the plan window covers the chunk
    repo_id, root = tiny_dataset
    episodes = [torch.from_numpy(e) for e in load_episode_actions(repo_id, root).actions]
    expected = plan_statistics(episodes, HORIZON, 10, [2])
    assert torch.allclose(peer.plan_mean, torch.tensor(expected["mean"]))
    assert torch.allclose(peer.plan_std, torch.tensor(expected["std"]).clamp_min(1e-6))

    batch = plan_batch(16)
    batch["action_is_pad"][0, 5:] = True
    loss, logs = peer.forward(batch)
    loss.backward()
    assert {"loss_reconstruction", "plan_loss_reconstruction"} <= set(logs)
    mode_rows = peer.network.mode[0].weight.grad
    assert bool((mode_rows.abs().sum(1) > 0).all())  # both modes (execution, plan) learned on every batch
    with pytest.raises(ValueError, match=r"expected \[B, >= 20, D\]"):
        peer.forward({"action": smooth_actions(2, 10)})

    peer.save_pretrained(tmp_path)
    tokenizer = load_action_tokenizer(tmp_path)
    assert isinstance(tokenizer, C2CTokenizer) and tokenizer.plan_horizon == HORIZON
    raw = smooth_actions(4, HORIZON, seed=5)
    plans = tokenizer.coarse_plan(raw)
    expected_ids = peer.tokenizer().plan_tokenizer().encode(plans).ids
    assert torch.equal(tokenizer.plan_tokenizer().encode(plans).ids, expected_ids)
    assert torch.allclose(tokenizer.plan_tokenizer().mean, peer.plan_mean)


def test_bad_plan_settings_of_a_peer_tokenizer(tiny_dataset):
    with pytest.raises(InvalidConfigError, match="plan_seconds=2.0 with arch='nac': only \\('c2c',\\) has a plan mode"):
        PeerTokenizerConfig(arch="nac", plan_seconds=2.0)
    with pytest.raises(InvalidConfigError, match="\\['plan_horizon'\\] are set by plan_seconds"):
        PeerTokenizerConfig(arch="c2c", arch_options={"plan_horizon": 20})
    with pytest.raises(InvalidConfigError, match="plan_seconds=-1"):
        PeerTokenizerConfig(arch="c2c", plan_seconds=-1)
    with pytest.raises(ValueError, match=r"gripper_dims=\[3\]: \[3\] outside the action's 3 dimensions"):
        c2c_peer(tiny_dataset, gripper_dims=[3])


# ----------------------------------------------------------------------------------------- plan-then-execute
def plan_policy(tokenizer_dir, **overrides) -> ActionCodecPolicy:
    torch.manual_seed(0)
    config = ActionCodecConfig(tokenizer_path=str(tokenizer_dir), **{**POLICY_FEATURES, **SMALL, **overrides})
    return ActionCodecPolicy(config)


def test_joint_plan_tokens_share_the_vocabulary_and_come_before_the_exec_tokens(joint_dir):
    policy = plan_policy(joint_dir, plan_mode="joint")
    config = policy.config
    assert config.action_delta_indices == list(range(HORIZON))  # the plan's H_p actions (the chunk is the first 10)
    assert (config.layout.positions, config.layout.head_vocab_size) == (8, 64) and policy.decoding_rule is None
    batch = {**policy_batch(4), "action": smooth_actions(4, HORIZON)}
    inputs, targets = policy.target_tokens(batch["action"])
    plan = policy.plan_source.coarse_plan(batch["action"])
    expected_plan = policy.plan_tokenizer.encode(plan).ids
    expected_exec = policy.tokenizer.encode(batch["action"][:, :10]).ids
    assert torch.equal(inputs, torch.cat([expected_plan, expected_exec], 1)) and torch.equal(targets, inputs)
    loss, logs = policy(batch)
    assert loss.isfinite() and {"token_accuracy", "exec_token_accuracy"} <= set(logs)


def test_plan_steps_past_the_episode_end_are_not_motion_in_the_targets(joint_dir):
    policy = plan_policy(joint_dir, plan_mode="joint")
    actions = smooth_actions(2, HORIZON)
    is_pad = torch.zeros(2, HORIZON, dtype=torch.bool)
    is_pad[:, 12:] = True  # the episode ends after 12 steps: LeRobot repeats its last action and flags the rest
    padded = torch.where(is_pad[..., None], actions[:, 11:12], actions)
    inputs, _ = policy.target_tokens(padded, is_pad)
    plan = policy.plan_source.coarse_plan(padded, is_pad)
    # plan steps 6..9 cover only padding: no motion, the gripper (the dataset's 3rd dimension) where it ended
    torch.testing.assert_close(plan[:, 6:, :2], torch.zeros(2, 4, 2))
    torch.testing.assert_close(plan[:, 6:, 2], actions[:, 11:12, 2].expand(2, 4))
    assert torch.equal(inputs[:, :4], policy.plan_tokenizer.encode(plan).ids)


def test_only_the_exec_tokens_are_decoded_and_executed(joint_dir, monkeypatch):
    policy = plan_policy(joint_dir, plan_mode="joint").eval()
    plan_ids, exec_ids = torch.randint(0, 64, (2, 4)), torch.randint(0, 64, (2, 4))
    monkeypatch.setattr(policy.backbone, "generate", lambda *args, **kwargs: torch.cat([plan_ids, exec_ids], 1))
    chunk = policy.predict_action_chunk(policy_batch(2))
    torch.testing.assert_close(chunk, policy.tokenizer.tokenizer.decode(exec_ids, "default"))
    assert torch.equal(policy.layout.plan_sequences(torch.cat([plan_ids, exec_ids], 1)).ids, plan_ids)


def test_the_policy_probe_reads_the_exec_positions_after_the_plan(joint_dir):
    """actioncodec-policy-probe's free-running accuracy of the executed part: the positions after the plan's."""
    policy = plan_policy(joint_dir, plan_mode="joint").eval()
    totals = ProbeTotals()
    batch = {
        **policy_batch(4),
        "action": smooth_actions(4, HORIZON),
        "action_is_pad": torch.zeros(4, HORIZON, dtype=torch.bool),
    }
    probe_batch(policy, batch, totals)
    result = totals.summary(exec_positions_from(policy))
    per_position = result["free_running_accuracy_per_position"]
    assert exec_positions_from(policy) == policy.layout.plan_positions == 4 and len(per_position) == 8
    assert result["free_running_exec_token_accuracy"] == pytest.approx(sum(per_position[4:]) / 4)
    assert 0 <= result["exec_token_accuracy"] <= 1  # the teacher-forced one, as training logs it


def test_separate_tokenizers_get_their_own_ids_and_each_position_keeps_to_its_vocabulary(
    joint_dir, plan_only_dir, tmp_path
):
    policy = plan_policy(joint_dir, plan_mode="separate", plan_tokenizer_path=str(plan_only_dir)).eval()
    layout = policy.layout
    assert (layout.positions, layout.head_vocab_size, layout.plan_offset) == (8, 128, 64)
    batch = {**policy_batch(3), "action": smooth_actions(3, HORIZON)}
    inputs, _ = policy.target_tokens(batch["action"])
    assert bool((inputs[:, :4] >= 64).all()) and bool((inputs[:, 4:] < 64).all())
    ids = policy.predict_tokens(batch, temperature=2.0)  # sampled: only the rule keeps positions apart
    assert bool((ids[:, :4] >= 64).all()) and bool((ids[:, 4:] < 64).all())
    policy.save_pretrained(tmp_path / "policy")
    assert (tmp_path / "policy" / PLAN_TOKENIZER_FILES).is_dir()
    loaded = ActionCodecPolicy.from_pretrained(tmp_path / "policy").eval()
    assert torch.equal(loaded.predict_action_chunk(batch), policy.predict_action_chunk(batch))
    assert torch.equal(loaded.target_tokens(batch["action"])[0], inputs)


def test_joint_round_trip_needs_no_extra_folder(joint_dir, tmp_path):
    policy = plan_policy(joint_dir, plan_mode="joint").eval()
    policy.save_pretrained(tmp_path / "policy")
    assert not (tmp_path / "policy" / PLAN_TOKENIZER_FILES).exists()
    loaded = ActionCodecPolicy.from_pretrained(tmp_path / "policy").eval()
    batch = policy_batch(2)
    assert torch.equal(loaded.predict_action_chunk(batch), policy.predict_action_chunk(batch))


def test_bad_plan_settings_of_the_policy(tokenizer_dir, joint_dir, plan_only_dir):
    with pytest.raises(InvalidConfigError, match="plan_mode='both'"):
        plan_policy(joint_dir, plan_mode="both")
    with pytest.raises(InvalidConfigError, match="the tokenizer_path tokenizer has no plan mode"):
        plan_policy(tokenizer_dir, plan_mode="joint")
    with pytest.raises(InvalidConfigError, match="plan_mode='separate' needs --policy.plan_tokenizer_path"):
        plan_policy(joint_dir, plan_mode="separate")
    with pytest.raises(InvalidConfigError, match="the plan_tokenizer_path tokenizer has no plan mode"):
        plan_policy(joint_dir, plan_mode="separate", plan_tokenizer_path=str(tokenizer_dir))
    with pytest.raises(InvalidConfigError, match="leave it unset or use plan_mode='separate'"):
        plan_policy(joint_dir, plan_mode="joint", plan_tokenizer_path=str(plan_only_dir))
    with pytest.raises(InvalidConfigError, match="an option of the autoregressive head"):
        ActionCodecPDConfig(tokenizer_path=str(joint_dir), plan_mode="joint", **POLICY_FEATURES)
    policy = plan_policy(joint_dir, plan_mode="joint")
    with pytest.raises(ValueError, match="plan tokens need the next H_p=20 actions"):
        policy.target_tokens(smooth_actions(2, 10))
    # a joint tokenizer still serves a head without plan tokens (its execution mode)
    assert load_action_tokenizer(joint_dir).chunk_length == 10
    assert ActionCodecConfig(tokenizer_path=str(joint_dir), **POLICY_FEATURES).action_delta_indices == list(range(10))


@pytest.mark.slow
def test_lerobot_train_trains_a_joint_tokenizer_and_a_plan_then_execute_policy(tiny_dataset, tmp_path):
    repo_id, root = tiny_dataset
    tokenizer = lerobot_train(repo_id, root, tmp_path / "tok", "--policy.type=actioncodec_tokenizer",
                              *TINY_TOKENIZER_ARGS, f"--policy.plan_seconds={PLAN_SECONDS}", steps=2)  # fmt: skip
    assert load_action_tokenizer(tokenizer).plan_horizon == HORIZON
    ckpt = lerobot_train(repo_id, root, tmp_path / "pol", "--policy.type=actioncodec",
                         f"--policy.tokenizer_path={tokenizer}", "--policy.plan_mode=joint",
                         "--policy.backbone=compact", "--policy.image_size=16", "--policy.hidden_size=32",
                         "--policy.num_layers=1", "--policy.num_heads=2", steps=2)  # fmt: skip
    policy = ActionCodecPolicy.from_pretrained(ckpt).eval()
    assert policy.config.plan_mode == "joint" and policy.layout.positions == 8
    batch = {"observation.images.front": torch.rand(2, 3, 8, 8), "observation.state": torch.randn(2, 3),
             "task": ["reach the red block"] * 2}  # fmt: skip
    assert policy.predict_action_chunk(batch).shape == (2, 10, 3)


@pytest.mark.slow
def test_lerobot_train_trains_c2c_whose_plan_mode_a_policy_plans_with(tiny_dataset, tmp_path):
    repo_id, root = tiny_dataset
    tokenizer = lerobot_train(repo_id, root, tmp_path / "c2c", "--policy.type=peer_tokenizer", "--policy.arch=c2c",
                              f"--policy.arch_options={json.dumps(C2C_OPTIONS)}",
                              f"--policy.plan_seconds={PLAN_SECONDS}", steps=2)  # fmt: skip
    loaded = load_action_tokenizer(tokenizer)
    assert isinstance(loaded, C2CTokenizer) and loaded.plan_horizon == HORIZON
    policy = plan_policy(tokenizer, plan_mode="joint").eval()
    assert policy.layout.positions == 36
    assert policy.predict_action_chunk(policy_batch(2)).shape == (2, 10, 3)
