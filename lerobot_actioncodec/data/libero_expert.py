"""A scripted pick-and-place expert for LIBERO that reads privileged simulator state.

It drives LIBERO's default OSC_POSE delta controller (action `[dx, dy, dz, dax, day, daz, grip]` in [-1, 1],
about the world axes: 1.0 moves about 5 cm per 20 Hz step and turned the hand about 0.09 rad per step here; grip
-1 open, +1 closed) through phases: above the grasp point, down to it, close, lift to a carry height relative to
the scene, bring the object over the target, down, open, retreat. A proportional controller on position and on
the gripper's yaw; no learned part.

Where to grasp comes from the object's collision geometry (`ObjectShape`): a box is taken across its shorter
horizontal side (the gripper turns to it: a flat box held along its long side does not fit between the fingers),
a bowl by its rim (the fingers straddle the wall, one inside and one outside), anything else at its origin; among
the grasps an object allows, one whose hand clears the neighbours' collision geoms (`hand_overlap`). While
carrying, the object (not the hand) is steered over the target, so a bowl held by its rim lands centred.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

GAIN = 12.0  # action per metre of position error (clipped to the controller's [-1, 1])
YAW_GAIN = 4.0  # action per radian of yaw error (a full 1.0 turned the hand about 0.09 rad per step)
APPROACH_HEIGHT = 0.10  # above the grasp point before descending (m)
CARRY_CLEARANCE = 0.27  # carry height above the higher of object and target (m)
RELEASE_HEIGHT = 0.12  # the object's origin above the target when opening (m)
GRASP_STEPS = 12  # steps the gripper takes to close
RELEASE_STEPS = 10
CLOSE_ENOUGH = 0.01  # position error that ends a move (m)
YAW_CLOSE_ENOUGH = 0.05  # yaw error that allows the descent (rad)
PHASE_LIMIT = {"approach": 80, "descend": 40, "lift": 60, "carry": 80, "lower": 40}  # steps before moving on anyway
RIM_GRASPED = ("bowl",)  # objects held by the rim: a name containing one of these
RIM_INSET = 0.007  # from the outer edge to the middle of a rim's wall (m)
RIM_DEPTH = 0.02  # the grip site below the rim's top (m)
ELONGATED = 1.2  # a box whose long side is this much longer than its short side is grasped across the short side
FINGER_MARGIN = 0.015  # a box is grasped at least this far from its ends (m)
YAW_CHOICES = (0.0, np.pi / 4, -np.pi / 4, np.pi / 2)  # finger turns tried for a round object or a rim (rad)
HAND_HALF = np.array([0.105, 0.035])  # the Panda hand's half-extents along and across the closing axis (m)
HAND_ABOVE_GRIP = 0.02  # the hand's underside above the grip site (m)
SLIP_TOLERANCE = 0.04  # the object is taken to be in the hand while within this of where it was grasped (m)


def pick_and_place_goal(goal_state: list[list[str]]) -> tuple[str, str]:
    """(object, target) of a BDDL goal with one `In` or `On` predicate, the target as the BDDL names it (an object,
    or a region such as `basket_1_contain_region` or `flat_stove_1_cook_region`). Any other goal is not
    pick-and-place."""
    if len(goal_state) != 1 or len(goal_state[0]) != 3 or goal_state[0][0].lower() not in ("in", "on"):
        raise ValueError(f"goal_state={goal_state!r}: expected one (In obj region) or (On obj target) predicate")
    _, obj, target = goal_state[0]
    return obj, target


def target_reference(target: str, scene_objects: set[str]) -> str:
    """What the expert brings the object above: a container's base for `<container>_contain_region` (the region's
    centre sits mid-height, the release height is measured from the base); the region itself otherwise (a stove's
    cook region, a cabinet's top side), or the target object."""
    if target.endswith("_contain_region") and target[: -len("_contain_region")] in scene_objects:
        return target[: -len("_contain_region")]
    return target


@dataclass(frozen=True)
class ObjectShape:
    """The corners of an object's collision geometry in its own frame (m): `low` and `high`, shape (3,)."""

    low: np.ndarray
    high: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        return (self.low + self.high) / 2

    @property
    def half(self) -> np.ndarray:
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class Scene:
    """One step's privileged state in world coordinates (m, rad)."""

    eef: np.ndarray  # robosuite's grip site, between the fingertips
    finger_yaw: float  # yaw of the axis along which the fingers close
    obj: np.ndarray  # the object's origin (what LIBERO's goal predicates test)
    obj_rotation: np.ndarray  # 3 x 3, object frame to world
    target: np.ndarray
    obstacles: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3)))  # world boxes [n, low/high, xyz]


def yaw_error(goal: float, current: float) -> float:
    """goal - current in (-pi/2, pi/2]: a parallel gripper is the same after half a turn."""
    return float((goal - current + np.pi / 2) % np.pi - np.pi / 2)


def plan_grasp(name: str, shape: ObjectShape, scene: Scene) -> tuple[np.ndarray, float]:
    """Where the grip site must be to hold object `name`, and the finger yaw that needs.

    Of the grasps the object's shape allows (a box: along its long side, fingers across the short one; a bowl: any
    point of its rim; else: its origin at any yaw), the one whose hand clears the other objects, the least turned
    and moved among those: a hand that comes down on a neighbour stops short of the object."""
    centre = scene.obj + scene.obj_rotation @ shape.centre
    top = scene.obj[2] + (scene.obj_rotation @ shape.high)[2]
    candidates: list[tuple[np.ndarray, float, float]] = []  # (grip point, finger yaw, how far from the plain grasp)
    if any(kind in name for kind in RIM_GRASPED):
        radius = min(shape.half[0], shape.half[1]) - RIM_INSET
        for turn in YAW_CHOICES:
            yaw = scene.finger_yaw + turn
            for side in (1.0, -1.0):
                axis = side * np.array([np.cos(yaw), np.sin(yaw), 0.0])
                point = centre + radius * axis
                point[2] = top - RIM_DEPTH
                nearer = np.dot(axis[:2], scene.eef[:2] - centre[:2]) >= 0  # the side nearer the hand first
                candidates.append((point, yaw, abs(turn) + (0.0 if nearer else 0.01)))
    else:
        point = np.array([centre[0], centre[1], scene.obj[2]])
        short, long = sorted((0, 1), key=lambda i: shape.half[i])
        if shape.half[long] < ELONGATED * shape.half[short]:
            candidates = [(point, scene.finger_yaw + turn, abs(turn)) for turn in YAW_CHOICES]
        else:
            across, along = scene.obj_rotation[:, short], scene.obj_rotation[:, long]
            yaw = float(np.arctan2(across[1], across[0]))
            reach = max(shape.half[long] - FINGER_MARGIN, 0.0)
            for slide in np.linspace(-reach, reach, 5):
                moved = point + slide * along
                candidates.append((np.array([moved[0], moved[1], point[2]]), yaw, abs(slide)))
    point, yaw, _ = min(candidates, key=lambda c: (hand_overlap(c[0], c[1], scene.obstacles), c[2]))
    return point, yaw


def hand_overlap(point: np.ndarray, yaw: float, obstacles: Any) -> float:
    """Area (m^2) of the hand's footprint, with the grip site at `point` and the fingers closing at `yaw`, over the
    obstacles (world boxes, `[n, 2, 3]`: low and high corners) that reach above the hand's underside."""
    boxes = np.asarray(obstacles, dtype=np.float64).reshape(-1, 2, 3)
    boxes = boxes[boxes[:, 1, 2] > point[2] + HAND_ABOVE_GRIP]
    if not len(boxes):
        return 0.0
    corners = np.stack([boxes[:, i, :2] * [1, 0] + boxes[:, j, :2] * [0, 1] for i in (0, 1) for j in (0, 1)], axis=1)
    rotation = np.array([[np.cos(yaw), np.sin(yaw)], [-np.sin(yaw), np.cos(yaw)]])  # world -> hand (xy)
    local = (corners - point[:2]) @ rotation.T
    sides = np.minimum(local.max(axis=1), HAND_HALF) - np.maximum(local.min(axis=1), -HAND_HALF)
    return float(np.prod(np.clip(sides, 0.0, None), axis=1).sum())


@dataclass
class PickPlaceExpert:
    """One episode's controller: `act(scene)` -> a 7-D action, phase by phase."""

    obj: str
    shape: ObjectShape
    phase: str = "approach"
    steps_in_phase: int = 0
    carry_z: float | None = None
    grasp: tuple[np.ndarray, float] | None = field(default=None, repr=False)
    hold: np.ndarray | None = field(default=None, repr=False)
    held_offset: np.ndarray = field(default_factory=lambda: np.zeros(3), repr=False)  # grip site - object, held

    def act(self, scene: Scene) -> np.ndarray:
        if self.carry_z is None:
            self.carry_z = max(scene.obj[2], scene.target[2]) + CARRY_CLEARANCE
        if self.grasp is None:  # planned once: nothing moves before the hand gets there
            self.grasp = plan_grasp(self.obj, self.shape, scene)
        self.steps_in_phase += 1
        goal, closed, yaw = self._goal(scene)
        move = np.clip(GAIN * (goal - scene.eef), -1.0, 1.0)
        turn = 0.0 if yaw is None else float(np.clip(YAW_GAIN * yaw_error(yaw, scene.finger_yaw), -1.0, 1.0))
        return np.concatenate([move, [0.0, 0.0, turn], [1.0 if closed else -1.0]]).astype(np.float32)

    def _goal(self, scene: Scene) -> tuple[np.ndarray, bool, float | None]:
        """This step's position goal, whether the gripper is closed and the finger yaw wanted; moves to the next
        phase when this one is done."""
        eef, carry, phase = scene.eef, self.carry_z, self.phase
        if phase in ("approach", "descend"):
            point, yaw = self.grasp
            aligned = abs(yaw_error(yaw, scene.finger_yaw)) < YAW_CLOSE_ENOUGH
            if phase == "approach":
                goal = point + np.array([0.0, 0.0, APPROACH_HEIGHT])
                self._advance(np.linalg.norm(goal - eef) < CLOSE_ENOUGH and aligned, "descend")
                return goal, False, yaw
            self._advance(np.linalg.norm(point - eef) < CLOSE_ENOUGH, "grasp")
            return point, False, yaw
        if phase == "grasp":
            if self.hold is None:
                self.hold = eef.copy()
            self._advance(self.steps_in_phase >= GRASP_STEPS, "lift")
            self.held_offset = eef - scene.obj
            return self.hold, True, None
        # from here on the object is steered over the target (a bowl held by its rim swings, so where it hangs now
        # counts); an object that is not where it was held (dropped, never caught) leaves the hand at its offset
        offset = scene.eef - scene.obj
        held = np.linalg.norm(offset - self.held_offset) < SLIP_TOLERANCE
        over_target = scene.target[:2] + (offset if held else self.held_offset)[:2]
        if phase == "lift":
            self._advance(abs(carry - eef[2]) < 2 * CLOSE_ENOUGH, "carry")
            return np.array([eef[0], eef[1], carry]), True, None
        if phase == "carry":
            self._advance(np.linalg.norm(over_target - eef[:2]) < CLOSE_ENOUGH, "lower")
            return np.array([over_target[0], over_target[1], carry]), True, None
        if phase == "lower":
            goal_z = scene.target[2] + RELEASE_HEIGHT + self.held_offset[2]
            self._advance(abs(goal_z - eef[2]) < 1.5 * CLOSE_ENOUGH, "release")
            return np.array([over_target[0], over_target[1], goal_z]), True, None
        if phase == "release":
            self._advance(self.steps_in_phase >= RELEASE_STEPS, "retreat")
            return eef, False, None
        return np.array([eef[0], eef[1], carry]), False, None  # retreat

    def _advance(self, done: bool, next_phase: str) -> None:
        """Move on when `done`, or when the phase has used up its steps."""
        if done or self.steps_in_phase >= PHASE_LIMIT.get(self.phase, 10**9):
            self.phase, self.steps_in_phase = next_phase, 0


class LiberoScene:
    """Reads a `Scene` for one pick-and-place goal from LIBERO's robosuite env (`LiberoEnv._env.env`)."""

    def __init__(self, env: Any, obj: str, target: str):
        self.env, self.obj = env, obj
        self.target = target_reference(target, set(env.objects_dict) | set(env.fixtures_dict))
        if self.target not in env.object_states_dict:
            raise ValueError(f"target {target!r}: not an object or region of this scene")
        shape = object_shape(env.sim, env.obj_body_id[obj])
        if shape is None:
            raise ValueError(f"object {obj!r}: no collision geometry to grasp")
        self.shape = shape
        others = [env.obj_body_id[name] for name in (*env.objects_dict, *env.fixtures_dict)
                  if name != obj and name in env.obj_body_id]  # fmt: skip
        model = env.sim.model._model
        self.obstacle_geoms = np.array(
            [geom for body in others for geom in collision_geoms(model, body)], dtype=np.int64
        )

    def read(self) -> Scene:
        from robosuite.utils.transform_utils import quat2mat

        data, robot = self.env.sim.data, self.env.robots[0]
        hand = quat2mat(data.get_body_xquat(robot.robot_model.eef_name)[[1, 2, 3, 0]])  # mujoco wxyz -> xyzw
        body = self.env.obj_body_id[self.obj]
        return Scene(
            eef=np.array(data.site_xpos[robot.eef_site_id], dtype=np.float64),
            finger_yaw=float(np.arctan2(hand[1, 1], hand[0, 1])),  # the hand's y axis: the fingers' closing axis
            obj=np.array(data.body_xpos[body], dtype=np.float64),
            obj_rotation=np.array(data.body_xmat[body], dtype=np.float64).reshape(3, 3),
            target=np.array(self.env.object_states_dict[self.target].get_geom_state()["pos"], dtype=np.float64),
            obstacles=geom_boxes(self.env.sim, self.obstacle_geoms),
        )


def collision_geoms(model: Any, body_id: int) -> list[int]:
    """The geoms of body `body_id` and the bodies under it that collide (LIBERO's visual meshes do not)."""
    return [geom for geom in range(model.ngeom) if (model.geom_contype[geom] or model.geom_conaffinity[geom])
            and _under(model, model.geom_bodyid[geom], body_id)]  # fmt: skip


def geom_boxes(sim: Any, geoms: np.ndarray) -> np.ndarray:
    """World-aligned boxes around `geoms` as they are now: `[n, 2, 3]`, low and high corners."""
    model, data = sim.model._model, sim.data._data
    rotation = data.geom_xmat[geoms].reshape(-1, 3, 3)
    centre = data.geom_xpos[geoms] + np.einsum("nij,nj->ni", rotation, model.geom_aabb[geoms, :3])
    half = np.einsum("nij,nj->ni", np.abs(rotation), model.geom_aabb[geoms, 3:])
    return np.stack([centre - half, centre + half], axis=1)


def object_shape(sim: Any, body_id: int) -> ObjectShape | None:
    """The bounding box, in the body's frame, of the collision geoms of body `body_id` and the bodies under it
    (None without any)."""
    model, data = sim.model._model, sim.data._data
    rotation, origin = data.xmat[body_id].reshape(3, 3), data.xpos[body_id]
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    corners = []
    for geom in collision_geoms(model, body_id):
        centre, half = model.geom_aabb[geom][:3], model.geom_aabb[geom][3:]
        world = data.geom_xpos[geom] + (signs * half + centre) @ data.geom_xmat[geom].reshape(3, 3).T
        corners.append((world - origin) @ rotation)
    if not corners:
        return None
    corners = np.concatenate(corners)
    return ObjectShape(corners.min(axis=0), corners.max(axis=0))


def _under(model: Any, body: int, ancestor: int) -> bool:
    while body > 0:
        if body == ancestor:
            return True
        body = model.body_parentid[body]
    return False
