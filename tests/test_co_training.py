"""Co-training the tokenizer on several embodiments in one run: actioncodec-merge-datasets writes one LeRobotDataset
with an embodiment column, and each sample of a batch is encoded with its own embodiment."""

import json

import numpy as np
import pytest
import torch
from lerobot.configs.types import FeatureType, PolicyFeature

from lerobot_actioncodec import ActionCodecTokenizer
from lerobot_actioncodec.cli.merge_datasets import main as merge_main
from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.data.merge import EMBODIMENT_COLUMN, REGISTRY_FILE, MergeSource, merge_datasets
from lerobot_actioncodec.data.synthetic import SyntheticSpec, write_synthetic_dataset
from lerobot_actioncodec.embodiments import EmbodimentSpec, load_registry
from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
    ActionCodecTokenizerPolicy,
)

from .helpers import TASKS, TINY_TOKENIZER_ARGS, lerobot_train, tiny_config

ARM = SyntheticSpec(num_episodes=4, episode_length=30, action_dim=5, fps=20, seed=2)


@pytest.fixture(scope="module")
def merged(tiny_dataset, tmp_path_factory):
    """tiny (3-D, 10 Hz, 6 episodes) + arm (5-D, 20 Hz, 4 episodes) merged."""
    root = tmp_path_factory.mktemp("co_training")
    write_synthetic_dataset(root / "arm", "local/arm", ARM)
    repo_id, tiny_root = tiny_dataset
    sources = [MergeSource("gripper_3d", repo_id, tiny_root), MergeSource("arm_5d", "local/arm", root / "arm")]
    merge_datasets(sources, root / "merged", "local/merged", progress=False)
    return root / "merged"


def test_merged_dataset_has_padded_actions_an_embodiment_column_and_a_registry(merged, tiny_dataset):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset("local/merged", root=merged)
    assert (dataset.meta.fps, dataset.meta.total_episodes, dataset.meta.total_frames) == (20, 10, 6 * 40 + 4 * 30)
    table = dataset.hf_dataset.with_format("numpy")
    actions, owner = np.asarray(table["action"]), np.asarray(table[EMBODIMENT_COLUMN]).reshape(-1)
    assert actions.shape == (360, 5) and np.bincount(owner).tolist() == [240, 120]
    assert np.all(actions[owner == 0, 3:] == 0)  # the 3-D robot's actions are zero-padded
    source = LeRobotDataset(*tiny_dataset)
    np.testing.assert_array_equal(actions[owner == 0, :3], np.asarray(source.hf_dataset.with_format("numpy")["action"]))
    assert set(dataset.meta.tasks.index) >= set(source.meta.tasks.index)

    registry = load_registry(merged / REGISTRY_FILE)
    assert list(registry) == ["gripper_3d", "arm_5d"]  # index order
    assert (registry["gripper_3d"].fps, registry["gripper_3d"].action_dim) == (10, 3)
    assert (registry["arm_5d"].fps, registry["arm_5d"].chunk_length) == (20, 20)
    np.testing.assert_allclose(registry["gripper_3d"].action_stats["mean"], source.meta.stats["action"]["mean"])


def test_merge_rejects_bad_sources(tiny_dataset, tmp_path):
    repo_id, root = tiny_dataset
    one = MergeSource("a", repo_id, root)
    with pytest.raises(ValueError, match="expected at least 2 embodiments"):
        merge_datasets([one], tmp_path / "x", "local/x")
    with pytest.raises(ValueError, match="repeat; expected one source per embodiment"):
        merge_datasets([one, one], tmp_path / "y", "local/y")
    wrong = {"a": EmbodimentSpec(fps=30, action_dim=3)}
    with pytest.raises(ValueError, match="source 'a': the registry has fps=30, action_dim=3 but the dataset has"):
        merge_datasets([one, MergeSource("b", repo_id, root)], tmp_path / "z", "local/z", wrong)
    with pytest.raises(SystemExit):
        merge_main(["--root", str(tmp_path / "w"), "--source", "no-at-sign"])


def co_training_config(merged, **overrides):
    kwargs = dict(
        embodiment_registry=str(merged / REGISTRY_FILE),
        embodiment_column=EMBODIMENT_COLUMN,
        embodiment="arm_5d",
        fps=None,
        output_features={"action": PolicyFeature(FeatureType.ACTION, (5,))},
    )
    return tiny_config(**{**kwargs, **overrides})  # fmt: skip


def mixed_batch(owners: list[int], steps: int = 21) -> dict:
    g = torch.Generator().manual_seed(0)
    actions = torch.randn(len(owners), steps, 5, generator=g)
    actions[torch.tensor(owners) == 0, :, 3:] = 0
    return {
        "action": actions,
        "action_is_pad": torch.zeros(len(owners), steps, dtype=torch.bool),
        EMBODIMENT_COLUMN: torch.tensor(owners)[:, None],
        "task": [TASKS[i % 2] for i in range(len(owners))],
    }


def test_config_checks_co_training_settings(merged, tmp_path):
    config = co_training_config(merged)
    assert config.requested_chunk_steps == 20 and config.action_delta_indices == list(range(21))
    with pytest.raises(InvalidConfigError, match="needs the merged dataset's embodiments"):
        tiny_config(embodiment_column=EMBODIMENT_COLUMN)
    with pytest.raises(
        InvalidConfigError, match=r"embodiment='default': with embodiment_column, expected one of \['gripper"
    ):
        co_training_config(merged, embodiment="default")
    registry = json.loads((merged / REGISTRY_FILE).read_text())
    del registry["arm_5d"]["action_stats"]
    (tmp_path / "r.json").write_text(json.dumps(registry))
    with pytest.raises(InvalidConfigError, match=r"embodiments \['arm_5d'\] have no action_stats"):
        co_training_config(merged, embodiment_registry=str(tmp_path / "r.json"))


def test_each_sample_trains_with_its_own_embodiment(merged):
    policy = ActionCodecTokenizerPolicy(co_training_config(merged))
    registry = load_registry(merged / REGISTRY_FILE)
    normalizer = policy.tokenizer.normalizer
    assert normalizer.has_stats.all()
    torch.testing.assert_close(normalizer.offset[1], torch.tensor(registry["arm_5d"].action_stats["mean"]))

    batch = mixed_batch([0, 1, 1, 0, 1, 0])
    groups = policy._embodiment_groups(batch)
    assert [(e, rows.tolist()) for e, rows in groups] == [(0, [0, 3, 5]), (1, [1, 2, 4])]
    passes = [policy._group_pass(batch, e, rows) for e, rows in groups]
    assert [p.chunk.shape[1] for p in passes] == [10, 20]  # 1 s at 10 Hz and at 20 Hz
    assert passes[0].mask[..., 3:].sum() == 0 and passes[1].mask.all()  # padded dimensions never count
    assert policy._tasks(batch, passes) == [batch["task"][i] for i in (0, 3, 5, 1, 2, 4)]

    loss, logs = policy(batch)
    loss.backward()
    prompt_grad = policy.tokenizer.codec.encoder_prompts.prompts.grad
    assert prompt_grad[0].abs().sum() > 0 and prompt_grad[1].abs().sum() > 0
    assert 0 <= logs["overlap_rate"] <= 1 and torch.isfinite(loss)


def test_the_embodiment_changes_the_encoding_and_a_bad_index_is_an_error(merged):
    policy = ActionCodecTokenizerPolicy(co_training_config(merged)).eval()
    chunk = torch.randn(4, 10, 3)
    padded = torch.nn.functional.pad(chunk, (0, 2))
    as_gripper = policy.tokenizer.codec.encode_latents(policy.tokenizer.normalize(padded, 0), 10, 0)
    as_arm = policy.tokenizer.codec.encode_latents(policy.tokenizer.normalize(padded, 1), 10, 1)
    assert not torch.allclose(as_gripper, as_arm)
    with pytest.raises(ValueError, match=r"holds \[7\]: expected embodiment indices 0..1"):
        policy(mixed_batch([0, 7]))
    with pytest.raises(ValueError, match="batch has no 'observation.embodiment_index'"):
        policy({k: v for k, v in mixed_batch([0, 1]).items() if k != EMBODIMENT_COLUMN})


def test_a_co_trained_joint_tokenizer_plans_for_every_embodiment_from_its_own_episodes(merged):
    """plan_seconds=2: each embodiment's plan mode (after every execution embodiment, so the column's indices
    hold), its statistics from its own episodes, its own H_p (20 actions at 10 Hz, 40 at 20 Hz) and rows."""
    from lerobot.datasets.lerobot_dataset import LeRobotDatasetMetadata

    from lerobot_actioncodec.coarse_plan import plan_statistics
    from lerobot_actioncodec.evaluation import load_episode_actions

    config = co_training_config(merged, plan_seconds=2.0)
    assert config.plan_modes == {"gripper_3d": "gripper_3d:plan", "arm_5d": "arm_5d:plan"}
    assert config.action_delta_indices == list(range(41))  # the longest plan window (40) plus tcl_shift
    policy = ActionCodecTokenizerPolicy(config, dataset_meta=LeRobotDatasetMetadata("local/merged", merged))
    tokenizer = policy.tokenizer
    assert tokenizer.embodiment_names == ["gripper_3d", "arm_5d", "gripper_3d:plan", "arm_5d:plan"]
    assert [tokenizer.plan_horizon(name) for name in ("gripper_3d", "arm_5d")] == [20, 40]
    data = load_episode_actions("local/merged", merged, EMBODIMENT_COLUMN)
    assert data.embodiments == [0] * 6 + [1] * 4
    for index, (name, dim) in enumerate([("gripper_3d", 3), ("arm_5d", 5)]):
        episodes = [torch.from_numpy(e[:, :dim]) for e in data.of_embodiment(index)]
        expected = plan_statistics(episodes, *tokenizer.plan_settings(name))
        torch.testing.assert_close(torch.tensor(config.embodiments[f"{name}:plan"].action_stats["mean"]),
                                   torch.tensor(expected["mean"]))  # fmt: skip
        torch.testing.assert_close(tokenizer.normalizer.offset[2 + index, :dim], torch.tensor(expected["mean"]))

    batch = mixed_batch([0, 1, 1, 0, 1, 0], steps=41)
    loss, logs = policy(batch)
    loss.backward()
    prompt_grad = policy.tokenizer.codec.encoder_prompts.prompts.grad
    assert all(prompt_grad[e].abs().sum() > 0 for e in range(4))  # both robots, both modes, one batch
    assert "plan_mae_normalized" in logs and torch.isfinite(loss)
    with pytest.raises(ValueError, match=r"holds \[2\]: expected embodiment indices 0..1"):
        policy(mixed_batch([0, 2], steps=41))  # a plan mode is not a dataset's embodiment


@pytest.mark.slow
def test_lerobot_train_co_trains_two_embodiments_with_their_plan_modes(merged, tmp_path):
    co_training = [f"--policy.embodiment_registry={merged / REGISTRY_FILE}", "--policy.embodiment=arm_5d",
                   f"--policy.embodiment_column={EMBODIMENT_COLUMN}", "--policy.plan_seconds=1"]  # fmt: skip
    checkpoint = lerobot_train("local/merged", merged, tmp_path / "co", "--policy.type=actioncodec_tokenizer",
                               *TINY_TOKENIZER_ARGS, *co_training)  # fmt: skip
    tokenizer = ActionCodecTokenizer.from_pretrained(checkpoint)
    assert tokenizer.embodiment_names == ["gripper_3d", "arm_5d", "gripper_3d:plan", "arm_5d:plan"]
    assert tokenizer.decode(tokenizer.encode(torch.randn(2, 10, 3), "gripper_3d"), "gripper_3d").shape == (2, 10, 3)
    assert tokenizer.decode(tokenizer.encode(torch.randn(2, 20, 5))).shape == (2, 20, 5)  # default: arm_5d
    plan = tokenizer.coarse_plan(torch.randn(2, 10, 3), embodiment="gripper_3d")
    assert plan.shape == (2, 10, 3) and tokenizer.decode(tokenizer.encode(plan, "gripper_3d:plan"),
                                                         "gripper_3d:plan").shape == (2, 10, 3)  # fmt: skip
