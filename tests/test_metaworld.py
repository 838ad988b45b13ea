"""The MetaWorld expert collector: settings, task names, features, and a real rollout into a LeRobotDataset."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from lerobot.envs.configs import MetaworldEnv
from lerobot.envs.utils import env_to_policy_features
from lerobot.utils.feature_utils import dataset_to_policy_features

from lerobot_actioncodec import rendering
from lerobot_actioncodec.data import metaworld as mw

from .helpers import BIN, TINY_TOKENIZER_ARGS, collect_metaworld_episode, lerobot_train, run_cli

GROUPS = {"easy": ["reach-v3", "push-v3"], "hard": ["assembly-v3"]}
REGISTRY = Path(__file__).resolve().parents[1] / "configs" / "embodiments.json"
EVAL_CONFIGS = REGISTRY.parent / "eval"
KNOWN = ["reach-v3", "push-v3", "assembly-v3", "door-open-v3"]


def test_expand_tasks_accepts_names_prefixes_and_groups_without_repeats():
    assert mw.expand_tasks(["metaworld-door-open-v3", "easy", " reach-v3"], KNOWN, GROUPS) == [
        "door-open-v3",
        "reach-v3",
        "push-v3",
    ]


def test_expand_tasks_names_the_unknown_task():
    with pytest.raises(ValueError, match=r"tasks: unknown MetaWorld task 'push-v9'.*\['easy', 'hard'\]"):
        mw.expand_tasks(["push-v9"], KNOWN, GROUPS)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("tasks", (), "tasks: expected at least one"),
        ("episodes_per_task", 0, "episodes_per_task=0"),
        ("image_size", 0, "image_size=0"),
        ("max_steps", 501, "max_steps=501: expected <= 500"),
        ("action_noise", -0.1, r"action_noise=-0.1: expected a std in \[0, 1\]"),
    ],
)
def test_bad_collection_settings(field, value, match):
    with pytest.raises(ValueError, match=match):
        mw.CollectionSettings(**{field: value})


def test_features_match_what_lerobot_eval_gives_a_policy():
    env_features = env_to_policy_features(MetaworldEnv())
    ours = dataset_to_policy_features(mw.metaworld_features(mw.EVAL_IMAGE_SIZE))
    assert {k: (f.type, f.shape) for k, f in ours.items()} == {k: (f.type, f.shape) for k, f in env_features.items()}
    assert MetaworldEnv().fps == mw.FPS


def test_missing_osmesa_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    monkeypatch.setattr(rendering, "osmesa_installed", lambda: False)
    with pytest.raises(rendering.RenderingUnavailableError, match="apt-get install libosmesa6"):
        rendering.configure_renderer()


@pytest.mark.parametrize(
    ("env", "installed", "expected"),
    [
        ({}, True, "osmesa"),  # headless, OSMesa present: chosen for lerobot-eval
        ({}, False, None),  # nothing to choose
        ({"MUJOCO_GL": "egl"}, True, "egl"),  # an explicit choice wins
        ({"DISPLAY": ":0"}, True, None),  # a display: MuJoCo's own default works
    ],
)
def test_headless_default_renderer(monkeypatch, env, installed, expected):
    for name in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY", "PYOPENGL_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(rendering, "osmesa_installed", lambda: installed)
    rendering.default_headless_renderer()
    assert rendering.os.environ.get("MUJOCO_GL") == expected


def test_episode_seeds_depend_on_task_name_not_position():
    a = mw._episode_rng(0, "push-v3", 3).integers(2**31, size=4)
    assert np.array_equal(a, mw._episode_rng(0, "push-v3", 3).integers(2**31, size=4))
    assert not np.array_equal(a, mw._episode_rng(0, "reach-v3", 3).integers(2**31, size=4))
    assert not np.array_equal(a, mw._episode_rng(0, "push-v3", 4).integers(2**31, size=4))


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """One reach-v3 expert episode at 32x32, written by the console script."""
    return collect_metaworld_episode(tmp_path_factory.mktemp("metaworld") / "experts")


@pytest.mark.slow
def test_collected_dataset_reads_back_with_lerobot_eval_layout(collected):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root, summary = collected
    assert summary["episodes"] == {"reach-v3": 1} and summary["new_frames"] > 10
    dataset = LeRobotDataset("local/metaworld_experts", root=root)
    assert (dataset.meta.fps, dataset.meta.total_episodes, dataset.meta.robot_type) == (80, 1, "metaworld_sawyer")
    assert dataset.meta.total_frames == summary["new_frames"]
    ours = dataset_to_policy_features(dataset.meta.features)
    env = env_to_policy_features(MetaworldEnv())
    assert set(ours) == set(env)
    for key in env:
        expected = (3, 32, 32) if key == "observation.image" else env[key].shape
        assert (ours[key].type, ours[key].shape) == (env[key].type, expected)
    item = dataset[0]
    assert item["task"] == "Reach a goal position"  # what lerobot-eval passes as observation["task"]
    assert item["observation.image"].shape == (3, 32, 32) and 0 <= item["observation.image"].min() <= 1
    actions = np.asarray(dataset.hf_dataset.with_format("numpy")["action"])
    assert actions.shape == (summary["new_frames"], 4) and np.abs(actions).max() <= 1.0
    assert np.abs(actions).sum() > 0


@pytest.mark.slow
def test_collection_is_idempotent_resumable_and_checks_settings(collected, tmp_path):
    root = tmp_path / "experts"
    shutil.copytree(collected[0], root)  # the shared collection stays one episode long
    same = mw.CollectionSettings(tasks=("reach-v3",), episodes_per_task=1, image_size=32, max_steps=200)
    again = mw.collect_metaworld(root, "local/metaworld_experts", same, progress=False)
    assert again.new_episodes == 0 and again.episodes == {"reach-v3": 1}

    with pytest.raises(ValueError, match="image_size=64 differs from the collection already in"):
        mw.collect_metaworld(root, "local/x", mw.CollectionSettings(tasks=("reach-v3",), image_size=64, max_steps=200))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with pytest.raises(ValueError, match="was not written by actioncodec-collect-metaworld"):
        mw.collect_metaworld(foreign, "local/x", same)

    more = mw.CollectionSettings(tasks=("reach-v3",), episodes_per_task=2, image_size=32, max_steps=200)
    extended = mw.collect_metaworld(root, "local/metaworld_experts", more, progress=False)
    assert extended.new_episodes == 1 and extended.episodes == {"reach-v3": 2}
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset("local/metaworld_experts", root=root)
    assert dataset.meta.total_episodes == 2 and dataset.meta.total_frames == dataset.num_frames


@pytest.mark.slow
def test_tokenizer_trains_on_collected_demos_with_the_registry_embodiment(collected, tmp_path):
    root, _ = collected
    ckpt = lerobot_train("local/metaworld_experts", root, tmp_path / "tok", "--policy.type=actioncodec_tokenizer",
                         f"--policy.embodiment_registry={REGISTRY}",
                         "--policy.embodiment=metaworld_sawyer", *TINY_TOKENIZER_ARGS, steps=2)  # fmt: skip
    report = tmp_path / "report.png"
    proc = run_cli("actioncodec-tokenizer-metrics", "--checkpoint", str(ckpt),
                   "--dataset.repo_id=local/metaworld_experts", f"--dataset.root={root}",
                   "--report", str(report))  # fmt: skip
    metrics = json.loads(proc.stdout[proc.stdout.index("{") : proc.stdout.rindex("}") + 1])
    assert metrics["num_chunks"] > 0 and report.stat().st_size > 10_000


@pytest.fixture(scope="module")
def collected_tokenizer(collected, tmp_path_factory):
    """A tiny joint-mode tokenizer trained for one step on the collected episode (0.25 s chunks at 80 Hz, plans of
    the next 0.5 s): the plan-then-execute head plans with it, the other heads use its execution mode."""
    out = tmp_path_factory.mktemp("metaworld_tokenizer") / "tok"
    return lerobot_train("local/metaworld_experts", collected[0], out, "--policy.type=actioncodec_tokenizer",
                         *TINY_TOKENIZER_ARGS, "--policy.fps=80", "--policy.chunk_seconds=0.25",
                         "--policy.plan_seconds=0.5", steps=1)  # fmt: skip


def lerobot_eval_headless(policy_path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """One reach-v3 episode through lerobot-eval, with no renderer variables and no display set."""
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY")}
    return subprocess.run(
        [str(BIN / "lerobot-eval"), f"--config_path={EVAL_CONFIGS / 'metaworld_demo.json'}",
         f"--policy.path={policy_path}", "--env.task=reach-v3", "--eval.n_episodes=1", "--policy.device=cpu",
         f"--output_dir={out}", *extra],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip


@pytest.mark.slow
def test_lerobot_eval_runs_a_tokenizer_checkpoint_into_the_metaworld_env_and_stops_clearly(
    collected_tokenizer, tmp_path
):
    """lerobot-eval loads the plugin, builds the env headless, runs our processors, then the tokenizer refuses."""
    proc = lerobot_eval_headless(collected_tokenizer, tmp_path / "eval")
    assert proc.returncode != 0
    assert "is an action tokenizer, not a control policy" in proc.stderr, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def collected_rvq_tokenizer(collected_tokenizer, tmp_path_factory):
    """The collected tokenizer's RVQ form (2 levels), as `actioncodec-rvq prepare` makes it."""
    out = tmp_path_factory.mktemp("metaworld_rvq") / "rvq"
    run_cli("actioncodec-rvq", "prepare", "--from", str(collected_tokenizer), "--out", str(out), "--levels", "2")
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("policy_type", "extra"),
    [
        ("actioncodec_bar", ["--policy.level_loss_weights=[1,0.25]"]),  # the 2 levels of collected_rvq_tokenizer
        ("actioncodec_ki", []),
    ],
    ids=["actioncodec_bar", "actioncodec_ki"],
)
def test_lerobot_eval_runs_each_policy_type_on_metaworld(policy_type, extra, collected, request, tmp_path):
    """A (barely trained) compact policy of each expert head acts for a whole 500-step MetaWorld episode under
    lerobot-eval: BAR with weighted levels (a subclass of PD: PD's own difference, one expert pass, is tested in
    test_expert_heads.py) and KI. Each episode costs about two minutes of rendering, so the autoregressive head has
    its MetaWorld lerobot-eval episode in test_protocol.py only (with plan tokens, which include the plain head's
    every step; the joint plan mode's own difference, where the plan positions' codes come from, is tested in
    test_plan_then_execute.py), and PD none of its own."""
    tokenizer = request.getfixturevalue("collected_rvq_tokenizer" if policy_type == "actioncodec_bar" else
                                        "collected_tokenizer")  # fmt: skip
    ckpt = lerobot_train("local/metaworld_experts", collected[0], tmp_path / "policy", f"--policy.type={policy_type}",
                         f"--policy.tokenizer_path={tokenizer}", *extra, "--policy.backbone=compact",
                         "--policy.image_size=32", "--policy.hidden_size=32", "--policy.num_layers=1",
                         "--policy.num_heads=2", steps=1)  # fmt: skip
    log = tmp_path / "eval" / "rollout_log.jsonl"
    proc = lerobot_eval_headless(ckpt, tmp_path / "eval", f"--policy.rollout_log={log}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((tmp_path / "eval" / "eval_info.json").read_text())
    assert info["per_group"]["reach-v3"]["n_episodes"] == 1
    assert len(info["per_task"][0]["metrics"]["successes"]) == 1
    report = run_cli("actioncodec-eval-report", f"--eval-dir={tmp_path / 'eval'}")
    assert "| reach-v3 | 1 |" in report.stdout and "largest jump" in report.stdout
    boundaries = json.loads((tmp_path / "eval" / "rollout_summary.json").read_text())
    assert boundaries["boundaries"] == boundaries["chunks"] - 1 > 0  # one episode: every chunk but the first


class _ScriptedEnv:
    """Stands in for LeRobot's MetaworldEnv: an expert that saturates the action box, success after 5 steps."""

    class _Expert:
        def get_action(self, state):
            return np.array([1.0, -1.0, 0.2, 0.9])

    class _Inner:
        def _get_obs(self):
            return np.zeros(39)

    def __init__(self):
        self.expert_policy, self._env, self.executed = self._Expert(), self._Inner(), []

    def _obs(self):
        return {"pixels": np.zeros((8, 8, 3), np.uint8), "agent_pos": np.arange(4.0)}

    def reset(self, seed=None):
        return self._obs(), {}

    def step(self, action):
        self.executed.append(action.copy())
        return self._obs(), 0.0, False, False, {"is_success": len(self.executed) == 5}


def test_rollout_records_the_executed_noisy_action_inside_the_action_box():
    env = _ScriptedEnv()
    frames, success = mw.rollout_expert(env, np.random.default_rng(0), action_noise=0.5, max_steps=50)
    recorded = np.stack([f["action"] for f in frames])
    assert success and len(frames) == 5
    assert np.array_equal(recorded, np.stack(env.executed)) and np.abs(recorded).max() <= 1.0
    assert not np.allclose(recorded, [1.0, -1.0, 0.2, 0.9])  # the noise is really there
    assert frames[0]["observation.state"].dtype == np.float32


def test_rollout_that_never_succeeds_is_reported_as_failed():
    env = _ScriptedEnv()
    frames, success = mw.rollout_expert(env, np.random.default_rng(0), action_noise=0.0, max_steps=3)
    assert not success and len(frames) == 3


@pytest.mark.parametrize("flag", ["--attempts-per-episode", "--episodes-per-task", "--max-steps"])
def test_collector_arguments_below_one_are_refused_naming_the_field(flag, tmp_path):
    from lerobot_actioncodec.cli.collect_metaworld import main

    field = flag.removeprefix("--").replace("-", "_")
    with pytest.raises(ValueError, match=f"{field}=0: expected an integer >= 1"):
        main(["--root", str(tmp_path / "data"), flag, "0"])
    assert not (tmp_path / "data").exists()
