"""The simulated SO-100 follower (`so100_sim`) and its scripted leader (`so100_sim_leader`)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lerobot_actioncodec import rendering
from lerobot_actioncodec.config_errors import InvalidConfigError

try:
    rendering.configure_renderer()
except rendering.RenderingUnavailableError as err:  # the scene renders its camera with MuJoCo
    pytest.skip(f"no MuJoCo renderer on this machine: {err}", allow_module_level=True)

from lerobot.robots.utils import make_robot_from_config  # noqa: E402
from lerobot.teleoperators.utils import make_teleoperator_from_config  # noqa: E402

from lerobot_actioncodec.so100_sim import SO100SimConfig, SO100SimLeaderConfig  # noqa: E402
from lerobot_actioncodec.so100_sim import so100_sim as so100_sim_module  # noqa: E402
from lerobot_actioncodec.so100_sim.expert import ScriptedPickPlace  # noqa: E402
from lerobot_actioncodec.so100_sim.scene import MOTORS, PickPlaceScene, success_rate  # noqa: E402
from lerobot_actioncodec.so100_sim.so100_sim import SO100Sim  # noqa: E402
from lerobot_actioncodec.so100_sim.so100_sim_leader import SO100SimLeader  # noqa: E402

KEYS = [f"{m}.pos" for m in MOTORS]
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture
def robot(tmp_path):
    made = []

    def make(**overrides):
        sizes = dict(camera_width=32, camera_height=24)
        r = SO100Sim(SO100SimConfig(calibration_dir=tmp_path / "calibration", **sizes, **overrides))
        r.connect()
        made.append(r)
        return r

    yield make
    for r in made:
        if r.is_connected:
            r.disconnect()


def test_lerobot_factories_make_the_simulated_devices(tmp_path):
    robot = make_robot_from_config(SO100SimConfig(calibration_dir=tmp_path))
    leader = make_teleoperator_from_config(SO100SimLeaderConfig(calibration_dir=tmp_path))
    assert isinstance(robot, SO100Sim) and isinstance(leader, SO100SimLeader)
    # so100_follower's names and units: five arm joints and the gripper, one `.pos` each, plus the camera.
    assert list(robot.action_features) == KEYS == list(leader.action_features)
    assert robot.observation_features["front"] == (128, 128, 3)


def test_units_match_so100_follower():
    scene = PickPlaceScene(fps=30)
    pos = scene.joint_positions()
    assert set(pos) == set(KEYS)
    assert all(abs(pos[f"{m}.pos"]) < 1e-6 for m in MOTORS[:-1])  # home: every joint at the middle of its range
    assert pos["gripper.pos"] == pytest.approx(100.0)  # opened fully
    low, high = scene.model.actuator_ctrlrange[scene.model.actuator("gripper").id]
    ctrl = scene.to_ctrl({**pos, "shoulder_pan.pos": 30.0, "gripper.pos": 0.0})
    assert ctrl[0] == pytest.approx(math.radians(30.0)) and ctrl[-1] == pytest.approx(low)
    ctrl = scene.to_ctrl({**pos, "elbow_flex.pos": 1e4, "gripper.pos": 50.0})  # beyond the servo's range
    assert ctrl[2] == pytest.approx(scene.model.actuator_ctrlrange[scene.model.actuator("elbow_flex").id][1])
    assert ctrl[-1] == pytest.approx((low + high) / 2)


def test_the_scripted_expert_places_the_cube():
    scene = PickPlaceScene(fps=30, seed=1, episode_frames=300, end_on_success=True)
    expert = ScriptedPickPlace(scene)
    for _ in range(3 * 300):
        scene.step(expert.action())
        if len(scene.results) == 3:
            break
    results = scene.results[:3]
    assert [r.ended_by for r in results] == ["success"] * 3, results
    assert all(r.steps < 300 for r in results)
    assert success_rate(results) == 1.0


def test_a_new_episode_resamples_the_cube_and_homes_the_arm():
    scene = PickPlaceScene(fps=30, seed=0, episode_frames=5)
    first_cube = scene.cube_position
    for _ in range(5):
        scene.step({**scene.joint_positions(), "shoulder_pan.pos": 40.0})
    assert scene.episode_index == 1 and scene.steps == 0
    assert [(r.success, r.steps, r.ended_by) for r in scene.results] == [(False, 5, "time")]
    assert not np.allclose(scene.cube_position, first_cube)
    assert abs(scene.joint_positions()["shoulder_pan.pos"]) < 1e-6


def test_bad_actions_are_refused_with_the_field_named(robot):
    r = robot()
    action = r.scene.joint_positions()
    with pytest.raises(KeyError, match="gripper.pos"):
        r.send_action({k: v for k, v in action.items() if k != "gripper.pos"})
    with pytest.raises(ValueError, match="non-finite.*wrist_flex.pos"):
        r.send_action({**action, "wrist_flex.pos": float("nan")})
    assert r.scene.steps == 0  # nothing reached the arm


def test_max_relative_target_caps_each_step(robot):
    r = robot(max_relative_target=5.0)
    present = r.scene.joint_positions()
    sent = r.send_action({**present, "shoulder_pan.pos": 40.0, "elbow_flex.pos": -2.0})
    assert sent["shoulder_pan.pos"] == pytest.approx(present["shoulder_pan.pos"] + 5.0)
    assert sent["elbow_flex.pos"] == pytest.approx(-2.0)


def test_observation_has_joints_and_camera(robot):
    obs = robot().get_observation()
    assert set(obs) == {*KEYS, "front"}
    assert obs["front"].shape == (24, 32, 3) and obs["front"].dtype == np.uint8
    assert obs["front"].std() > 0  # a rendered scene, not a blank frame


def test_the_wrist_camera_rides_on_the_gripper(robot):
    r = robot(wrist_camera=True)
    assert r.observation_features["wrist"] == r.observation_features["front"] == (24, 32, 3)
    assert set(r.cameras) == {"front", "wrist"}
    before = r.get_observation()
    assert before["wrist"].std() > 0 and not np.array_equal(before["wrist"], before["front"])
    target = {**r.scene.joint_positions(), "wrist_flex.pos": r.scene.joint_positions()["wrist_flex.pos"] + 30.0}
    for _ in range(10):
        r.send_action(target)
    assert np.abs(r.get_observation()["wrist"].astype(int) - before["wrist"]).mean() > 5  # the view moved with it
    assert set(robot(id="plain").get_observation()) == {*KEYS, "front"}  # off by default


def test_wall_clock_episodes_follow_lerobot_record(robot, monkeypatch):
    clock = iter([0.0, 1.0, 2.1, 2.2])
    monkeypatch.setattr(so100_sim_module.time, "perf_counter", lambda: next(clock))
    r = robot(episode_time_s=2.0, episode_clock="wall")
    for _ in range(2):  # t = 0 and 1: the same episode
        r.get_observation()
        r.send_action(r.scene.joint_positions())
    r.get_observation()  # t = 2.1: the recorder's episode is over; this observation starts the next one
    assert r.scene.episode_index == 1 and [x.ended_by for x in r.scene.results] == ["time"]


def test_results_and_stop_after_episodes(robot, tmp_path, monkeypatch):
    raised = []
    monkeypatch.setattr(so100_sim_module.signal, "raise_signal", raised.append)
    out = tmp_path / "rollout" / "results.json"
    r = robot(episode_time_s=0.1, episode_clock="sim", stop_after_episodes=2, results_path=out,
              max_relative_target=5.0)  # 3 frames each  # fmt: skip
    for step in range(7):
        r.get_observation()
        target = r.scene.joint_positions()
        # each episode's targets: the present pan, +2 degrees, +32 degrees (a 30-degree step the 5-degree cap cuts)
        target["shoulder_pan.pos"] += (0.0, 2.0, 32.0)[step % 3]
        r.send_action(target)
    r.get_observation()
    assert raised == [signal.SIGINT]
    r.disconnect()
    summary = json.loads(out.read_text())
    assert summary["episodes"] == 2 and summary["successes"] == 0 and summary["success_rate"] == 0.0
    assert [x["ended_by"] for x in summary["results"]] == ["time", "time", "disconnect"]
    first = summary["results"][0]
    assert first["capped_steps"] == 1 and first["target_step_max"] == pytest.approx(30.0, abs=2.5)
    assert summary["capped_steps"] == 2 and summary["target_step_max"] == pytest.approx(30.0, abs=2.5)
    assert first["target_step_mean"] == pytest.approx((first["target_step_max"] + 2.0) / 2, abs=2.5)
    assert max(first["target_step_max_by_key"], key=first["target_step_max_by_key"].get) == "shoulder_pan.pos"


def test_targets_within_the_cap_are_not_counted_as_capped(robot, tmp_path):
    """LeRobot rebuilds each target as present + change (last-bit differences): only real caps are counted."""
    out = tmp_path / "results.json"
    r = robot(max_relative_target=5.0, results_path=out, episode_time_s=0.5, episode_clock="sim")
    for step in range(14):
        r.send_action({k: v + 0.37 * (step % 5 + 1) / 3 for k, v in r.scene.joint_positions().items()})
    r.disconnect()
    assert json.loads(out.read_text())["results"][0]["capped_steps"] == 0


def test_leader_needs_a_connected_follower(tmp_path, robot):
    leader = SO100SimLeader(SO100SimLeaderConfig(calibration_dir=tmp_path, follower_id="other"))
    leader.connect()
    with pytest.raises(RuntimeError, match="none with id 'other' is connected.*--teleop.follower_id"):
        leader.get_action()
    r = robot(id="other")
    action = leader.get_action()
    assert list(action) == KEYS and all(math.isfinite(v) for v in action.values())
    with pytest.raises(RuntimeError, match="already connected"):
        robot(id="other")
    r.disconnect()
    leader.disconnect()


@pytest.mark.parametrize("field,value", [("fps", 0), ("episode_time_s", -1.0), ("episode_clock", "gpu"),
                                         ("stop_after_episodes", 0)])  # fmt: skip
def test_bad_config_names_the_field(field, value):
    with pytest.raises(InvalidConfigError, match=f"--robot.{field}"):
        SO100SimConfig(**{field: value})


def test_rendering_works_when_another_plugin_imported_mujoco_first():
    """LeRobot imports plugins in no fixed order; lerobot-env-so101 imports MuJoCo before ours may choose OSMesa."""
    hidden = ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    code = ("import mujoco, lerobot_actioncodec\n"
            "from lerobot_actioncodec.so100_sim.scene import PickPlaceScene\n"
            "print('rendered', PickPlaceScene(width=16, height=16).render().std() > 0)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "rendered True" in proc.stdout, proc.stderr[-3000:]


@pytest.mark.slow
def test_so100_sim_demo_records_trains_and_rolls_out_offline(tmp_path):
    """scripts/so100_sim_demo.sh in its quick version: LeRobot's lerobot-record with the scripted leader on the
    simulated arm, the ActionCodec tokenizer and the policy trained a few steps with lerobot-train, then
    lerobot-rollout on the simulated arm until two episodes have finished, with the deploy limits on."""
    run_dir = tmp_path / "run"
    quick = {"RUN_DIR": str(run_dir), "RECORD_EPISODES": "2", "EPISODE_TIME_S": "2", "TOKENIZER_STEPS": "2",
             "POLICY_STEPS": "2", "ROLLOUT_EPISODES": "2", "ROLLOUT_EPISODE_TIME_S": "0.5"}  # fmt: skip
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "so100_sim_demo.sh")], capture_output=True, text=True,
                          env={**os.environ, **quick}, timeout=1800)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    info = json.loads((run_dir / "dataset" / "meta" / "info.json").read_text())
    assert (info["fps"], info["robot_type"], info["total_episodes"]) == (30, "so100_sim", 2)
    assert info["features"]["action"]["names"] == KEYS == info["features"]["observation.state"]["names"]
    assert tuple(info["features"]["observation.images.front"]["shape"]) == (128, 128, 3)
    policy = json.loads((run_dir / "policy/checkpoints/last/pretrained_model/config.json").read_text())
    assert policy["invalid_action"] == "hold" and policy["action_bounds_margin"] == 0.05
    rollout = json.loads((run_dir / "rollout" / "results.json").read_text())
    assert rollout["episodes"] == 2  # 0.5 s of simulated time each: 15 frames, then the session stopped itself
    assert [(r["steps"], r["ended_by"]) for r in rollout["results"][:2]] == [(15, "time")] * 2
    assert rollout["target_step_max"] >= rollout["target_step_mean"] >= 0 and rollout["capped_steps"] >= 0
    assert "policy rollout: " in proc.stdout and "targets moved at most" in proc.stdout
    stages = [line.split("\t")[0] for line in (run_dir / "stage_times.tsv").read_text().splitlines()]
    assert stages == ["record", "tokenizer", "policy", "rollout"]

    # the same checkpoint under real-time chunking: chunks predicted in LeRobot's background thread while the
    # arm runs the leftover, the token head choosing among sampled chunks
    results = tmp_path / "rtc" / "results.json"
    rtc = subprocess.run([str(BIN / "lerobot-rollout"), "--strategy.type=base", "--inference.type=rtc",
                          f"--policy.path={run_dir / 'policy/checkpoints/last/pretrained_model'}",
                          "--policy.device=cpu", "--robot.type=so100_sim", "--robot.episode_clock=sim",
                          "--robot.episode_time_s=0.5", "--robot.stop_after_episodes=1",
                          f"--robot.results_path={results}", "--task=Put the cube on the green spot", "--fps=30",
                          "--duration=120", "--return_to_initial_position=false", "--play_sounds=false"],
                         capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                         timeout=600)  # fmt: skip
    assert rtc.returncode == 0 and "RTC inference error" not in rtc.stderr, rtc.stderr[-3000:]
    rtc_results = json.loads(results.read_text())
    assert rtc_results["episodes"] == 1 and rtc_results["target_step_max"] >= rtc_results["target_step_mean"] >= 0
