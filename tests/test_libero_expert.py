"""The scripted LIBERO pick-and-place expert (data/libero.py): goal parsing from BDDL, and its phases on a toy
kinematic world (the end effector moves by action x 5 cm per step, a grasped object moves with it). Its
success in LeRobot's real LIBERO env is measured by benchmarks/libero_expert.py (docs/simulation.md)."""

import json

import numpy as np
import pytest

from lerobot_actioncodec import libero_assets
from lerobot_actioncodec.data.libero import PickPlaceExpert, pick_and_place_goal
from lerobot_actioncodec.tokenizers.binning import BinningTokenizer

from .helpers import lerobot_train, run_cli, smooth_actions


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ([["In", "alphabet_soup_1", "basket_1_contain_region"]], ("alphabet_soup_1", "basket_1")),
        ([["on", "akita_black_bowl_1", "plate_1"]], ("akita_black_bowl_1", "plate_1")),
        ([["On", "bowl_1", "cabinet_1_top_region"]], ("bowl_1", "cabinet_1")),
    ],
)
def test_goal_names_the_object_and_its_target(goal, expected):
    assert pick_and_place_goal(goal) == expected


@pytest.mark.parametrize("goal", [[["Open", "wooden_cabinet_1_top_region"]], [["In", "a", "b"], ["On", "c", "d"]], []])
def test_a_goal_that_is_not_one_pick_and_place_is_refused(goal):
    with pytest.raises(ValueError, match="expected one \\(In obj region\\) or \\(On obj target\\)"):
        pick_and_place_goal(goal)


def test_the_expert_carries_the_object_onto_the_target_and_lets_go():
    eef, obj, target = np.array([0.0, 0.0, 0.3]), np.array([0.1, -0.2, 0.02]), np.array([-0.1, 0.25, 0.0])
    expert, grasped, released_at = PickPlaceExpert("can_1", "basket_1"), False, None
    for _ in range(400):
        action = expert.act({"robot0_eef_pos": eef, "can_1_pos": obj, "basket_1_pos": target})
        assert action.shape == (7,) and np.all(np.abs(action) <= 1.0) and not action[3:6].any()  # orientation held
        eef = eef + 0.05 * action[:3]
        closed = action[6] > 0
        grasped = closed and (grasped or np.linalg.norm(eef - obj) < 0.02)
        if grasped:
            obj = eef.copy()
        elif not closed and released_at is None and obj[2] > 0.05:
            released_at = obj.copy()
        if expert.phase == "retreat" and eef[2] > 0.25:
            break
    assert expert.phase == "retreat" and released_at is not None
    assert np.linalg.norm(released_at[:2] - target[:2]) < 0.02  # let go right above the target
    assert abs(released_at[2] - (target[2] + 0.12)) < 0.03


def test_a_recorded_frame_is_what_lerobot_eval_gives_a_policy():
    """policy_view runs LeRobot's own preprocess_observation and LIBERO env processor: both cameras turned by 180
    degrees (the orientation of LeRobot's LIBERO datasets), state = eef position, axis-angle, gripper joints."""
    from lerobot.envs.configs import LiberoEnv as LiberoEnvConfig

    from lerobot_actioncodec.data.libero import libero_features, policy_view

    rng = np.random.default_rng(0)
    pixels = {camera: rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for camera in ("image", "image2")}
    half_turn_about_z = np.array([0.0, 0.0, 1.0, 0.0])  # (x, y, z, w): axis-angle (0, 0, pi)
    robot_state = {"eef": {"pos": np.array([0.1, -0.2, 0.3]), "quat": half_turn_about_z, "mat": np.eye(3)},
                   "gripper": {"qpos": np.array([0.04, -0.04]), "qvel": np.zeros(2)},
                   "joints": {"pos": np.zeros(7), "vel": np.zeros(7)}}  # fmt: skip
    preprocessor, _ = LiberoEnvConfig(
        task="libero_object", observation_height=16, observation_width=16
    ).get_env_processors()
    frame = policy_view({"pixels": pixels, "robot_state": robot_state}, preprocessor, "pick up the soup")
    features = libero_features(16)
    assert set(frame) == set(features) - {"action"}
    for camera in ("image", "image2"):
        assert np.array_equal(frame[f"observation.images.{camera}"], pixels[camera][::-1, ::-1])
    assert frame["observation.state"].dtype == np.float32
    np.testing.assert_allclose(frame["observation.state"], [0.1, -0.2, 0.3, 0, 0, np.pi, 0.04, -0.04], atol=1e-5)


def _printed_json(stdout: str) -> dict:
    """The JSON object a collector prints last (indented, its first line a lone '{')."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))


@pytest.mark.slow
@pytest.mark.skipif(libero_assets.libero_root() is None, reason="LIBERO is not installed (extra `libero`)")
def test_collected_libero_episode_trains_a_policy_that_lerobot_eval_runs(tmp_path):
    """actioncodec-collect-libero writes one expert episode (and resumes to nothing); a tiny policy trained on it
    runs in lerobot-eval's LIBERO env with the same keys, offline."""
    root = tmp_path / "libero"
    flags = ("--root", str(root), "--task-ids", "0", "--episodes-per-task", "1", "--image-size", "64", "--no-progress")
    first = _printed_json(run_cli("actioncodec-collect-libero", *flags).stdout)
    assert first["new_episodes"] == 1 and first["new_frames"] > 50
    info = json.loads((root / "meta" / "info.json").read_text())
    assert (info["fps"], info["robot_type"]) == (20, "libero_franka")
    shapes = {key: tuple(feature["shape"]) for key, feature in info["features"].items()}
    assert shapes["observation.images.image"] == shapes["observation.images.image2"] == (64, 64, 3)
    assert shapes["observation.state"] == (8,) and shapes["action"] == (7,)
    again = _printed_json(run_cli("actioncodec-collect-libero", *flags).stdout)
    assert again["new_episodes"] == 0

    tokenizer = tmp_path / "binning"
    BinningTokenizer.fit(smooth_actions(64, 20, dim=7), bins=16).save_pretrained(tokenizer)  # 1 s at 20 Hz
    ckpt = lerobot_train("local/libero_experts", root, tmp_path / "policy", "--policy.type=actioncodec",
                         f"--policy.tokenizer_path={tokenizer}", "--policy.backbone=compact",
                         "--policy.image_size=32", "--policy.hidden_size=32", "--policy.num_layers=1",
                         "--policy.num_heads=2", steps=1)  # fmt: skip
    run_cli("lerobot-eval", f"--policy.path={ckpt}", "--policy.device=cpu", "--env.type=libero",
            "--env.task=libero_object", "--env.task_ids=[0]", "--env.observation_height=64",
            "--env.observation_width=64", "--env.episode_length=10", "--eval.n_episodes=1", "--eval.batch_size=1",
            "--eval.use_async_envs=false", f"--output_dir={tmp_path / 'eval'}", timeout=900)  # fmt: skip
    result = json.loads((tmp_path / "eval" / "eval_info.json").read_text())
    assert len(result["per_task"][0]["metrics"]["successes"]) == 1


@pytest.mark.skipif(libero_assets.libero_root() is None, reason="LIBERO is not installed (extra `libero`)")
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(suite="libero_nope"), "suite='libero_nope': expected one of"),
        (dict(task_ids=(10,)), "task_ids: 10 is not a task of libero_object; expected 0..9"),
        (dict(episodes_per_task=0), "episodes_per_task=0: expected an integer >= 1"),
    ],
)
def test_bad_collection_settings_name_the_field(settings, message, tmp_path):
    from lerobot_actioncodec.data.libero import LiberoCollectionSettings, collect_libero

    with pytest.raises(ValueError, match=message):
        collect_libero(tmp_path / "data", "local/x", LiberoCollectionSettings(**settings))
    assert not (tmp_path / "data").exists()
