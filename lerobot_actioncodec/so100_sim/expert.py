"""A scripted pick-and-place demonstrator that answers in joint space, as a person at the leader arm would.

It reuses `lerobot-env-so101`'s stateful Cartesian controller (hover, descend, close, lift, traverse, lower,
open, retreat) and its top-down inverse kinematics, and only adapts them: the controller was tuned at 10 Hz
(its hold phases count control steps), so it advances every `fps / 10` frames and its Cartesian target is
interpolated between; the target is turned into the five arm joints by the IK, solved on a scratch copy of the
scene so the expert never disturbs the simulation it watches.
"""

from __future__ import annotations

import mujoco
import numpy as np
from lerobot_env_so101.ik_control import control_point, roll_to_align_axis, solve_ik
from lerobot_env_so101.mujoco_env import CARTESIAN_BOUNDS, grasp_point_offset
from lerobot_env_so101.policy import DEFAULT_ACTION_SCALE
from lerobot_env_so101.scripted.pick_place import PickPlaceController

from .scene import ARM_JOINTS, MOTOR_KEYS, PickPlaceScene

CONTROLLER_HZ = 10  # the rate PickPlaceController's step counts and speeds were tuned at
# lerobot-env-so101's IK settings (mujoco_env.py): grasp point between the jaws, gripper pointing down, jaws along y.
IK_DAMPING = 0.1
IK_ITERATIONS = 20
APPROACH_AXIS = 0
JAW_AXIS = 2
TOP_DOWN_JAW_DIRECTION = np.asarray([0.0, 1.0, 0.0])
# A person moves the leader smoothly: each target moves at most this far per 1/30 s frame (arm joints in degrees,
# 150 deg/s; gripper in percent, closing in about a third of a second). Without it the first frame from home
# would turn the wrist by 95 degrees at once.
STEP_LIMIT_30FPS = np.asarray([5.0, 5.0, 5.0, 5.0, 5.0, 10.0])


class ScriptedPickPlace:
    """Joint-space targets (so100_follower units) that carry the scene's cube to its goal."""

    def __init__(self, scene: PickPlaceScene):
        self.scene = scene
        model = scene.model
        self._scratch = mujoco.MjData(model)
        self._site = model.site("gripperframe").id
        self._arm_dofs = np.asarray([model.joint(n).id for n in ARM_JOINTS])
        self._roll_joint = model.joint("wrist_roll").id
        self._roll_range = model.jnt_range[self._roll_joint]
        self._offset = grasp_point_offset(model, self._site)
        self._decimation = max(1, round(scene.fps / CONTROLLER_HZ))
        self._controller = PickPlaceController(action_scale=DEFAULT_ACTION_SCALE)
        self._episode = None
        self._frame = 0
        self._target: np.ndarray | None = None
        self._step_delta = np.zeros(3)
        self._gripper_open = 1.0
        self._holding = False
        self._command = np.zeros(len(MOTOR_KEYS))

    @property
    def done(self) -> bool:
        return self._controller.done

    def _sync(self) -> None:
        self._scratch.qpos[:] = self.scene.data.qpos
        self._scratch.mocap_pos[:] = self.scene.data.mocap_pos
        mujoco.mj_kinematics(self.scene.model, self._scratch)

    def _grasp_point(self) -> np.ndarray:
        return control_point(self._scratch, self._site, self._offset)

    def _restart(self) -> None:
        self._controller.reset()
        self._episode = self.scene.episode_index
        self._frame = 0
        self._target = self._grasp_point()
        self._step_delta = np.zeros(3)
        self._holding = False
        self._command = np.asarray(list(self.scene.joint_positions().values()))

    def _plan(self) -> None:
        """One controller step: a Cartesian move for the next `decimation` frames and the gripper command."""
        action = self._controller.act(self._grasp_point(), self.scene.cube_position, self.scene.goal_position)
        move = action[:3] * DEFAULT_ACTION_SCALE
        holding = bool(np.linalg.norm(move) < 1e-9)
        if holding and not self._holding:
            # The env's rule: the first zero move locks the target where the hand is, not on an overshot target.
            self._target = self._grasp_point()
        self._holding = holding
        self._step_delta = move / self._decimation
        self._gripper_open = float(action[3])

    def action(self) -> dict[str, float]:
        self._sync()
        if self._episode != self.scene.episode_index:
            self._restart()
        if self._frame % self._decimation == 0:
            self._plan()
        self._frame += 1
        self._target = np.clip(self._target + self._step_delta, CARTESIAN_BOUNDS[0], CARTESIAN_BOUNDS[1])
        wanted = np.asarray([*np.degrees(self._inverse_kinematics(self._target)), 100.0 * self._gripper_open])
        limit = STEP_LIMIT_30FPS * 30.0 / self.scene.fps
        self._command = np.clip(wanted, self._command - limit, self._command + limit)
        return {key: float(v) for key, v in zip(MOTOR_KEYS, self._command, strict=True)}

    def _inverse_kinematics(self, target: np.ndarray) -> np.ndarray:
        seed = self._scratch.qpos[self._arm_dofs].copy()
        roll = ARM_JOINTS.index("wrist_roll")
        seed[roll] += roll_to_align_axis(self._scratch, self._site, self._roll_joint, JAW_AXIS, TOP_DOWN_JAW_DIRECTION)
        seed[roll] = np.clip(seed[roll], *self._roll_range)
        return solve_ik(
            model=self.scene.model,
            data=self._scratch,
            site_id=self._site,
            dof_ids=self._arm_dofs,
            target_pos=target,
            ik_method="levenberg_marquardt",
            ik_damping=IK_DAMPING,
            ik_iterations=IK_ITERATIONS,
            seed_q=seed,
            point_offset=self._offset,
            approach_axis=APPROACH_AXIS,
        )
