"""Scripted LIBERO demonstrations written as a LeRobotDataset that `lerobot-eval --env.type=libero` matches.

LIBERO's demonstrations come from the Hub; this expert makes them offline. Rollouts run inside LeRobot's own
`lerobot.envs.libero.LiberoEnv`, and every recorded observation goes through the same two steps lerobot-eval
applies before a policy sees it (`preprocess_observation`, then the LIBERO env processor, which turns both
cameras by 180 degrees and builds the 8-D state: end-effector position, axis-angle, two gripper joints), so the
keys, shapes, image orientation, state layout, fps and task strings are those of lerobot-eval (whose processor
turns images to the orientation of LeRobot's public LIBERO datasets). Collection is resumable
(data/collection.py); attempt k of a task starts from LIBERO's k-th fixed initial state.

The expert (data/libero_expert.py) reads the goal from the task's BDDL (`(In obj region)` or `(On obj target)`)
and the scene from the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .collection import CollectionRecord, CollectionSummary, DatasetSpec, check_sizes, collect
from .libero_expert import LiberoScene, PickPlaceExpert, pick_and_place_goal

FPS = 20  # LeRobot's LIBERO env (--env.fps): robosuite's control frequency
ROBOT_TYPE = "libero_franka"  # the name of this embodiment in configs/embodiments.json
CAMERAS = ("image", "image2")  # LeRobot's names for agentview and the wrist camera: observation.images.<name>
STATE_NAMES = ["eef_x", "eef_y", "eef_z", "eef_axis_angle_x", "eef_axis_angle_y", "eef_axis_angle_z",
               "gripper_qpos_left", "gripper_qpos_right"]  # fmt: skip
ACTION_NAMES = ["delta_x", "delta_y", "delta_z", "delta_axis_angle_x", "delta_axis_angle_y", "delta_axis_angle_z",
                "gripper"]  # fmt: skip


@dataclass(frozen=True)
class LiberoCollectionSettings:
    suite: str = "libero_object"  # LIBERO suite (libero_object, libero_spatial, libero_goal, libero_10, libero_90)
    task_ids: tuple[int, ...] = tuple(range(10))
    episodes_per_task: int = 10  # successful episodes kept per task
    image_size: int = 128  # both cameras; evaluate with --env.observation_height/width of the same size
    max_steps: int = 300  # an attempt that has not succeeded by then is dropped
    attempts_per_episode: int = 2  # give up on a task after episodes_per_task x this many attempts
    video: bool = True  # camera frames as MP4 (LeRobot's default) or, False, as PNG files

    def __post_init__(self) -> None:
        if not self.task_ids:
            raise ValueError("task_ids: expected at least one task id, e.g. 0")
        check_sizes(self)

    def data_defining(self) -> dict[str, Any]:
        """The settings a resumed collection must share with the first run (the rest may grow)."""
        return {k: getattr(self, k) for k in ("suite", "image_size", "max_steps", "video")}


def libero_features(image_size: int, video: bool = True) -> dict[str, dict]:
    """LeRobotDataset features with the keys a policy gets from lerobot-eval's LIBERO env."""
    from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

    image = {"dtype": "video" if video else "image", "shape": (image_size, image_size, 3),
             "names": ["height", "width", "channels"]}  # fmt: skip
    return {
        **{f"{OBS_IMAGES}.{camera}": dict(image) for camera in CAMERAS},
        OBS_STATE: {"dtype": "float32", "shape": (len(STATE_NAMES),), "names": STATE_NAMES},
        ACTION: {"dtype": "float32", "shape": (len(ACTION_NAMES),), "names": ACTION_NAMES},
    }


def policy_view(observation: dict[str, Any], env_preprocessor: Any, task: str) -> dict[str, np.ndarray]:
    """One LiberoEnv observation as lerobot-eval hands it to a policy, as dataset frame values (HWC uint8 images,
    float32 state): LeRobot's `preprocess_observation`, then its LIBERO env processor."""
    import torch
    from lerobot.envs.utils import preprocess_observation
    from lerobot.utils.constants import OBS_IMAGES, OBS_STATE

    def batched(tree: Any) -> Any:
        return {k: batched(v) for k, v in tree.items()} if isinstance(tree, dict) else np.asarray(tree)[None]

    seen = env_preprocessor({**preprocess_observation(batched(observation)), "task": [task]})
    frame = {OBS_STATE: seen[OBS_STATE][0].numpy().astype(np.float32)}
    for camera in CAMERAS:
        image = seen[f"{OBS_IMAGES}.{camera}"][0]  # [3, H, W] in [0, 1], from uint8 frames
        frame[f"{OBS_IMAGES}.{camera}"] = (image.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    return frame


class LiberoExpertTask:
    """One LIBERO task's env and expert (data/collection.py's TaskRollouts); benchmarks/libero_expert.py measures
    the expert with the same rollouts. A task whose goal is not one pick-and-place is refused (ValueError)."""

    def __init__(self, suite: Any, task_id: int, settings: LiberoCollectionSettings):
        from lerobot.envs.configs import LiberoEnv as LiberoEnvConfig
        from lerobot.envs.libero import LiberoEnv

        size, self.settings = settings.image_size, settings
        self.env = LiberoEnv(suite, task_id, settings.suite, observation_width=size, observation_height=size,
                             obs_type="pixels_agent_pos")  # fmt: skip
        self.description = self.env.task_description
        self.env.reset(seed=0)  # builds the simulator, whose BDDL problem names the goal
        try:
            self.goal = pick_and_place_goal(self.env._env.env.parsed_problem["goal_state"])
            LiberoScene(self.env._env.env, *self.goal)  # the goal's object and target exist in the scene
        except ValueError as error:
            self.env.close()
            raise ValueError(f"{settings.suite} task {task_id} ({self.env.task}): {error}; the scripted expert "
                             "handles pick-and-place tasks only") from error  # fmt: skip
        config = LiberoEnvConfig(task=settings.suite, observation_height=size, observation_width=size)
        self.env_preprocessor, _ = config.get_env_processors()

    def rollout(self, attempt: int) -> tuple[list[dict[str, Any]], bool]:
        from lerobot.utils.constants import ACTION

        self.env.init_state_id = attempt  # LIBERO's fixed initial state number `attempt`
        observation, _ = self.env.reset(seed=attempt)
        scene = LiberoScene(self.env._env.env, *self.goal)  # the reset may have rebuilt the simulator
        expert, frames = PickPlaceExpert(scene.obj, scene.shape), []
        for _ in range(self.settings.max_steps):
            action = expert.act(scene.read())
            frames.append({**policy_view(observation, self.env_preprocessor, self.description), ACTION: action})
            observation, _, terminated, _, info = self.env.step(action)
            if info["is_success"]:
                return frames, True
            if terminated:
                break
        return frames, False

    def close(self) -> None:
        self.env.close()


def libero_suite(name: str) -> Any:
    """LIBERO's benchmark suite `name` (its task list and initial states), with a clear error for a wrong name."""
    try:
        from libero.libero import benchmark
    except ImportError as error:
        raise ImportError("LIBERO is not installed: pip install 'lerobot_policy_actioncodec[libero]'") from error
    suites = benchmark.get_benchmark_dict()
    if name not in suites:
        raise ValueError(f"suite={name!r}: expected one of {sorted(suites)}")
    return suites[name]()


def collect_libero(
    root: str | Path, repo_id: str, settings: LiberoCollectionSettings, progress: bool = True
) -> CollectionSummary:
    """Roll out the expert on `settings.task_ids` of `settings.suite` and append the successful episodes to the
    dataset at `root` (keyed by task name in the resume record)."""
    suite = libero_suite(settings.suite)
    for task_id in settings.task_ids:
        if not 0 <= task_id < suite.n_tasks:
            raise ValueError(f"task_ids: {task_id} is not a task of {settings.suite}; expected 0..{suite.n_tasks - 1}")
    names = {suite.get_task(task_id).name: task_id for task_id in settings.task_ids}
    root, tool = Path(root), "actioncodec-collect-libero"
    record = CollectionRecord.open_or_new(root, settings.data_defining(), tool)
    spec = DatasetSpec(repo_id, libero_features(settings.image_size, settings.video), FPS, ROBOT_TYPE, settings.video)
    return collect(root, spec, record, list(names), settings.episodes_per_task, settings.attempts_per_episode,
                   lambda name: LiberoExpertTask(suite, names[name], settings), progress,
                   failure_hint="raise --max-steps or --attempts-per-episode")  # fmt: skip
