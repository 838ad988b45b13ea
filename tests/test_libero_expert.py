"""The scripted LIBERO pick-and-place expert (data/libero_expert.py): goal parsing from BDDL, grasp planning from an
object's shape, and its phases on a toy kinematic world. Its
success in LeRobot's real LIBERO env is measured by benchmarks/libero_expert.py (docs/simulation.md)."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lerobot_actioncodec import libero_assets
from lerobot_actioncodec.data.libero_expert import (
    FINGER_MARGIN,
    RELEASE_HEIGHT,
    RIM_DEPTH,
    RIM_INSET,
    ObjectShape,
    PickPlaceExpert,
    Scene,
    hand_overlap,
    pick_and_place_goal,
    plan_grasp,
    target_reference,
    yaw_error,
)

from .helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ([["In", "alphabet_soup_1", "basket_1_contain_region"]], ("alphabet_soup_1", "basket_1_contain_region")),
        ([["on", "akita_black_bowl_1", "plate_1"]], ("akita_black_bowl_1", "plate_1")),
        ([["On", "bowl_1", "flat_stove_1_cook_region"]], ("bowl_1", "flat_stove_1_cook_region")),
    ],
)
def test_goal_names_the_object_and_its_target(goal, expected):
    assert pick_and_place_goal(goal) == expected


@pytest.mark.parametrize("goal", [[["Open", "wooden_cabinet_1_top_region"]], [["In", "a", "b"], ["On", "c", "d"]], []])
def test_a_goal_that_is_not_one_pick_and_place_is_refused(goal):
    with pytest.raises(ValueError, match="expected one \\(In obj region\\) or \\(On obj target\\)"):
        pick_and_place_goal(goal)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("basket_1_contain_region", "basket_1"),  # released above the container's base, not its mid-height centre
        ("flat_stove_1_cook_region", "flat_stove_1_cook_region"),  # a region of a fixture: the region itself
        ("wooden_cabinet_1_top_side", "wooden_cabinet_1_top_side"),
        ("plate_1", "plate_1"),
    ],
)
def test_the_target_is_a_container_base_a_region_or_an_object(target, expected):
    assert target_reference(target, {"basket_1", "flat_stove_1", "wooden_cabinet_1", "plate_1"}) == expected


BOX = ObjectShape(np.array([-0.04, -0.02, -0.01]), np.array([0.04, 0.02, 0.01]))  # a flat box, long along its x
CAN = ObjectShape(np.array([-0.03, -0.03, -0.04]), np.array([0.03, 0.03, 0.04]))
BOWL = ObjectShape(np.array([-0.054, -0.054, 0.0]), np.array([0.054, 0.054, 0.05]))


def _rotation(yaw: float) -> np.ndarray:
    return np.array([[np.cos(yaw), -np.sin(yaw), 0.0], [np.sin(yaw), np.cos(yaw), 0.0], [0.0, 0.0, 1.0]])


def _scene(eef, obj, target, finger_yaw=np.pi / 2, obj_yaw=0.0, obstacles=()):
    return Scene(eef=np.asarray(eef, float), finger_yaw=finger_yaw, obj=np.asarray(obj, float),
                 obj_rotation=_rotation(obj_yaw), target=np.asarray(target, float), obstacles=obstacles)  # fmt: skip


def _run_toy_world(shape, obj_yaw, finger_yaw=np.pi / 2):
    """The expert in a kinematic world: the hand moves 5 cm and turns 0.09 rad per unit of action, an object
    closed on within 2 cm moves with it. Returns the expert, the finger yaw when the gripper closed and where the
    object was let go."""
    eef, obj, target = np.array([0.0, 0.0, 0.3]), np.array([0.1, -0.2, 0.02]), np.array([-0.1, 0.25, 0.0])
    expert, offset, yaw_at_grasp, released_at = PickPlaceExpert("box_1", shape), None, None, None
    for _ in range(400):
        action = expert.act(_scene(eef, obj, target, finger_yaw, obj_yaw))
        assert action.shape == (7,) and np.all(np.abs(action) <= 1.0) and not action[3:5].any()  # pitch, roll held
        eef, finger_yaw = eef + 0.05 * action[:3], finger_yaw + 0.09 * action[5]
        closed = action[6] > 0
        if closed and offset is None and np.linalg.norm(eef - obj) < 0.02:
            offset, yaw_at_grasp = eef - obj, finger_yaw
        if offset is not None and closed:
            obj = eef - offset
        elif offset is not None and released_at is None:
            released_at = obj.copy()
        if expert.phase == "retreat" and eef[2] > 0.25:
            break
    return expert, target, yaw_at_grasp, released_at


def test_the_expert_carries_the_object_onto_the_target_and_lets_go():
    expert, target, _, released_at = _run_toy_world(CAN, obj_yaw=0.0)
    assert expert.phase == "retreat" and released_at is not None
    assert np.linalg.norm(released_at[:2] - target[:2]) < 0.02  # the object let go right above the target
    assert abs(released_at[2] - (target[2] + RELEASE_HEIGHT)) < 0.03


def test_the_hand_turns_to_close_across_a_box_short_side_before_it_descends():
    # the box's long side lies along the fingers' closing axis: held as it lies, it would not fit between them
    expert, target, yaw_at_grasp, released_at = _run_toy_world(BOX, obj_yaw=np.pi / 2, finger_yaw=np.pi / 2)
    assert yaw_at_grasp is not None and abs(yaw_error(0.0, yaw_at_grasp)) < 0.06  # across the short side
    assert np.linalg.norm(released_at[:2] - target[:2]) < 0.02


def test_a_bowl_is_grasped_by_its_rim_on_the_side_nearer_the_hand():
    scene = _scene(eef=[0.0, -0.4, 0.3], obj=[0.0, 0.0, 0.9], target=[0.3, 0.0, 0.9])
    point, yaw = plan_grasp("akita_black_bowl_1", BOWL, scene)
    assert yaw == pytest.approx(np.pi / 2)  # no turn needed: any rim point will do
    assert point == pytest.approx([0.0, -(0.054 - RIM_INSET), 0.9 + 0.05 - RIM_DEPTH])


def test_a_grasp_moves_away_from_a_neighbour_the_hand_would_land_on():
    scene = _scene(eef=[0.0, 0.0, 0.3], obj=[0.0, 0.0, 0.01], target=[0.3, 0.0, 0.0])
    free_point, _ = plan_grasp("cream_cheese_1", BOX, scene)
    assert free_point[:2] == pytest.approx([0.0, 0.0])  # nothing near: the box's centre
    bottle = (np.array([0.03, -0.12, 0.0]), np.array([0.08, -0.07, 0.2]))  # tall, beside the box's +x end
    crowded = _scene(eef=[0.0, 0.0, 0.3], obj=[0.0, 0.0, 0.01], target=[0.3, 0.0, 0.0], obstacles=(bottle,))
    point, yaw = plan_grasp("cream_cheese_1", BOX, crowded)
    assert hand_overlap(free_point, yaw, (bottle,)) > 0 and hand_overlap(point, yaw, (bottle,)) == 0
    assert point[0] < 0 and abs(point[0]) <= 0.04 - FINGER_MARGIN + 1e-9  # slid along the box, still on it


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
def test_libero_demo_collects_trains_and_evaluates_offline(tmp_path):
    """scripts/libero_demo.sh in its quick version: one expert episode with lerobot-eval's keys, the ActionCodec
    tokenizer and a policy trained on it for a few steps, one lerobot-eval episode in LeRobot's LIBERO env, the
    success table and the wall time of every stage; then the collector resumes to nothing."""
    run_dir = tmp_path / "run"
    quick = {"RUN_DIR": str(run_dir), "TASK_IDS": "0", "EPISODES_PER_TASK": "1", "IMAGE_SIZE": "64",
             "TOKENIZER_STEPS": "2", "POLICY_STEPS": "2", "EVAL_EPISODES": "1", "EPISODE_LENGTH": "10"}  # fmt: skip
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "libero_demo.sh")], capture_output=True, text=True,
                          env={**os.environ, **quick}, timeout=1800)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    root = run_dir / "dataset"
    info = json.loads((root / "meta" / "info.json").read_text())
    assert (info["fps"], info["robot_type"], info["total_episodes"]) == (20, "libero_franka", 1)
    shapes = {key: tuple(feature["shape"]) for key, feature in info["features"].items()}
    assert shapes["observation.images.image"] == shapes["observation.images.image2"] == (64, 64, 3)
    assert shapes["observation.state"] == (8,) and shapes["action"] == (7,)
    success = json.loads((run_dir / "eval" / "success.json").read_text())
    assert [(row["task"], row["episodes"]) for row in success] == [("libero_object", 1)]
    stages = [line.split("\t")[0] for line in (run_dir / "stage_times.tsv").read_text().splitlines()]
    assert stages == ["collect", "tokenizer", "policy", "eval"]
    flags = ("--root", str(root), "--task-ids", "0", "--episodes-per-task", "1", "--image-size", "64", "--no-progress")
    assert _printed_json(run_cli("actioncodec-collect-libero", *flags).stdout)["new_episodes"] == 0


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
