"""The simulated SO-100 follower: LeRobot's Robot interface over the MuJoCo scene, with so100_follower's keys."""

from __future__ import annotations

import json
import logging
import math
import signal
import time
from functools import cached_property
from typing import Any

import numpy as np
from lerobot.robots.robot import Robot
from lerobot.robots.utils import ensure_safe_goal_position
from lerobot.utils.decorators import check_if_already_connected, check_if_not_connected

from .config_so100_sim import SO100SimConfig
from .scene import (
    CAMERA,
    MOTOR_KEYS,
    WRIST_CAMERA,
    EpisodeResult,
    PickPlaceScene,
    SceneLayout,
    attach_scene,
    detach_scene,
    success_rate,
)

logger = logging.getLogger(__name__)
# ensure_safe_goal_position rebuilds every target as present + change, which can differ from the target in its last
# bits; a target counts as capped, as LeRobot warns about it, when it moved by more than this.
CAP_TOLERANCE = 1e-4


class EpisodeMotion:
    """How the targets sent in one episode moved from one frame to the next (before --robot.max_relative_target;
    degrees or gripper points): what a policy's chunk boundaries do to an arm, for sync and RTC rollouts alike. The
    first target of an episode has no predecessor (the arm was just reset)."""

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None
        self.changes: list[np.ndarray] = []  # per frame, each joint's |change|
        self.capped = 0

    def add(self, target: np.ndarray, capped: bool) -> None:
        if self._previous is not None:
            self.changes.append(np.abs(target - self._previous))
        self._previous = target
        self.capped += capped

    @classmethod
    def merged(cls, motions: list[EpisodeMotion]) -> EpisodeMotion:
        total = cls()
        total.changes = [change for motion in motions for change in motion.changes]
        total.capped = sum(motion.capped for motion in motions)
        return total

    def summary(self) -> dict[str, Any]:
        """The largest change of any joint between two frames, its mean over frames, the largest per joint, and the
        frames the per-step cap acted on."""
        if not self.changes:
            return {"target_step_max": None, "target_step_mean": None, "target_step_max_by_key": None,
                    "capped_steps": self.capped}  # fmt: skip
        changes = np.stack(self.changes)
        largest = changes.max(1)
        return {
            "target_step_max": float(largest.max()),
            "target_step_mean": float(largest.mean()),
            "target_step_max_by_key": {key: float(v) for key, v in zip(MOTOR_KEYS, changes.max(0), strict=True)},
            "capped_steps": self.capped,
        }


class SceneCamera:
    """The scene's rendered view where LeRobot expects a camera (lerobot-record sizes its image writers by them)."""

    def __init__(self, scene: PickPlaceScene, name: str):
        self._scene = scene
        self.name = name

    def read(self) -> np.ndarray:
        return self._scene.render(self.name)

    async_read = read


class SO100Sim(Robot):
    config_class = SO100SimConfig
    name = "so100_sim"

    def __init__(self, config: SO100SimConfig):
        super().__init__(config)
        self.config = config
        self.scene: PickPlaceScene | None = None
        self.cameras: dict[str, SceneCamera] = {}
        self._episode_started: float | None = None
        self._reported = 0
        self._stop_requested = False
        self._motion: dict[int, EpisodeMotion] = {}

    @cached_property
    def action_features(self) -> dict[str, type]:
        return dict.fromkeys(MOTOR_KEYS, float)

    @cached_property
    def observation_features(self) -> dict[str, type | tuple]:
        shape = (self.config.camera_height, self.config.camera_width, 3)
        return {**self.action_features, **dict.fromkeys(self._camera_names, shape)}

    @property
    def _camera_names(self) -> tuple[str, ...]:
        return (CAMERA, WRIST_CAMERA) if self.config.wrist_camera else (CAMERA,)

    @property
    def is_connected(self) -> bool:
        return self.scene is not None

    @property
    def is_calibrated(self) -> bool:
        return True

    @check_if_already_connected
    def connect(self, calibrate: bool = True) -> None:
        self.scene = PickPlaceScene(
            fps=self.config.fps,
            seed=self.config.seed,
            layout=SceneLayout(randomize_goal=self.config.randomize_goal),
            width=self.config.camera_width,
            height=self.config.camera_height,
            episode_frames=self._sim_episode_frames(),
            end_on_success=self.config.end_on_success,
        )
        attach_scene(self.config.scene_id, self.scene)
        self.cameras = {name: SceneCamera(self.scene, name) for name in self._camera_names}
        logger.info(f"{self} connected (simulated, {self.config.fps} fps).")

    def _sim_episode_frames(self) -> int | None:
        if self.config.episode_time_s is None or self.config.episode_clock != "sim":
            return None
        return max(1, round(self.config.episode_time_s * self.config.fps))

    def _wall_clock_episode_over(self) -> bool:
        """lerobot-record's timer: its episode ends once `episode_time_s` has passed since its first observation."""
        if self.config.episode_time_s is None or self.config.episode_clock != "wall":
            return False
        now = time.perf_counter()
        if self._episode_started is None or self.scene.steps == 0:
            self._episode_started = now
            return False
        if now - self._episode_started < self.config.episode_time_s:
            return False
        self._episode_started = now
        return True

    def calibrate(self) -> None:
        """The simulated joints are calibrated by construction (zero at the middle of each range)."""

    def configure(self) -> None:
        """Nothing to write to simulated servos."""

    @check_if_not_connected
    def get_observation(self) -> dict:
        if self._wall_clock_episode_over():
            self.scene.new_episode("time")
        self._log_finished_episodes()
        self._stop_when_enough_episodes()
        return {**self.scene.joint_positions(), **{name: camera.read() for name, camera in self.cameras.items()}}

    @check_if_not_connected
    def send_action(self, action: dict) -> dict:
        """Hold the joint targets for one frame; returns the targets actually used (capped by max_relative_target)."""
        missing = sorted(set(self.action_features) - set(action))
        if missing:
            raise KeyError(f"so100_sim action is missing {missing}; expected the keys {list(self.action_features)}")
        goal = {key: float(action[key]) for key in self.action_features}
        bad = [key for key, value in goal.items() if not math.isfinite(value)]
        if bad:
            raise ValueError(f"so100_sim refuses non-finite joint targets for {bad}: {goal}")
        requested = dict(goal)
        if self.config.max_relative_target is not None:
            present = self.scene.joint_positions()
            cap = self.config.max_relative_target
            if isinstance(cap, dict):
                cap = {f"{motor}.pos": value for motor, value in cap.items()}
            goal = ensure_safe_goal_position({k: (v, present[k]) for k, v in goal.items()}, cap)
        motion = self._motion.setdefault(self.scene.episode_index, EpisodeMotion())
        capped = any(abs(goal[key] - requested[key]) > CAP_TOLERANCE for key in MOTOR_KEYS)
        motion.add(np.asarray([requested[key] for key in MOTOR_KEYS]), capped)
        self.scene.step(goal)
        return goal

    def _log_finished_episodes(self) -> None:
        for result in self.scene.results[self._reported :]:
            outcome = "success" if result.success else "failure"
            logger.info(f"{self} episode {result.index}: {outcome} after {result.steps} frames ({result.ended_by})")
        self._reported = len(self.scene.results)

    def _finished(self) -> list[EpisodeResult]:
        """The episodes that count: ended by their timer or by success (the first stop_after_episodes of them)."""
        finished = [r for r in self.scene.results if r.ended_by != "disconnect" or r.success]
        return finished[: self.config.stop_after_episodes]

    def _stop_when_enough_episodes(self) -> None:
        wanted = self.config.stop_after_episodes
        if wanted is None or self._stop_requested or len(self._finished()) < wanted:
            return
        self._stop_requested = True
        logger.info(f"{self}: {wanted} episodes finished; stopping the session (SIGINT, as Ctrl-C)")
        signal.raise_signal(signal.SIGINT)

    @check_if_not_connected
    def disconnect(self) -> None:
        results = self.scene.finish()
        self._log_finished_episodes()
        scored = self._finished()
        rate, successes = success_rate(scored), sum(r.success for r in scored)
        logger.info(f"{self}: {successes} of {len(scored)} finished episodes succeeded")
        if self.config.results_path is not None:
            self.config.results_path.parent.mkdir(parents=True, exist_ok=True)
            summary = {
                "episodes": len(scored),
                "successes": successes,
                "success_rate": None if math.isnan(rate) else rate,
                "unfinished": len(results) - len(scored),
                **EpisodeMotion.merged([self._motion[r.index] for r in scored if r.index in self._motion]).summary(),
                "results": [{**r.__dict__, **self._motion.get(r.index, EpisodeMotion()).summary()} for r in results],
            }
            self.config.results_path.write_text(json.dumps(summary, indent=2))
        detach_scene(self.config.scene_id)
        self.scene.close()
        self.scene = None
        self.cameras = {}
        logger.info(f"{self} disconnected.")
