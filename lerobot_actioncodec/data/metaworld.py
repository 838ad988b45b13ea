"""Scripted MetaWorld demonstrations written as a LeRobotDataset that `lerobot-eval --env.type=metaworld` matches.

Rollouts run inside LeRobot's own `lerobot.envs.metaworld.MetaworldEnv`, so the camera, the image flip, the
4-D state (hand position + gripper opening), the 4-D action and the task strings are exactly what
`lerobot-eval` feeds a policy. MetaWorld's scripted expert for each task acts, optionally with Gaussian action
noise for diversity, and only successful episodes are kept.

Collection is resumable (data/collection.py): running the same command again adds only the missing episodes,
with the same seeds an uninterrupted run would use.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..rendering import configure_renderer
from .collection import CollectionRecord, CollectionSummary, DatasetSpec, check_sizes, collect

logger = logging.getLogger(__name__)

# A small MT10 subset with short, reliable expert episodes (about 0.6-1.2 s at 80 Hz).
DEFAULT_TASKS = ("reach-v3", "push-v3", "pick-place-v3", "door-open-v3", "drawer-open-v3")
FPS = 80  # LeRobot's MetaworldEnv control frequency (its `--env.fps`)
EVAL_IMAGE_SIZE = 480  # lerobot-eval's metaworld env renders 480x480 frames
EPISODE_LIMIT = 500  # MetaWorld's max_path_length; lerobot-eval truncates there
STATE_NAMES = ["hand_x", "hand_y", "hand_z", "gripper_opening"]
ACTION_NAMES = ["delta_x", "delta_y", "delta_z", "gripper_effort"]
ROBOT_TYPE = "metaworld_sawyer"  # the name of this embodiment in configs/embodiments.json
MUJOCO_RANGE = ((3, 3), (3, 4))  # metaworld 3.0 breaks on MuJoCo >= 3.4 (mocap weld data layout changed)


@dataclass(frozen=True)
class CollectionSettings:
    tasks: tuple[str, ...] = DEFAULT_TASKS  # task names ("push-v3") or LeRobot's groups ("easy", "medium", ...)
    episodes_per_task: int = 10  # successful episodes kept per task
    seed: int = 0
    image_size: int = EVAL_IMAGE_SIZE  # square frames; smaller is faster, and a policy then resizes eval frames
    action_noise: float = 0.0  # std of Gaussian noise added to the expert action (action units, range [-1, 1])
    max_steps: int = EPISODE_LIMIT  # an attempt that has not succeeded by then is dropped
    attempts_per_episode: int = 3  # give up on a task after episodes_per_task x this many attempts
    # Camera frames as MP4 (LeRobot's default, as lerobot-record writes) or as lossless PNG files. LeRobot
    # decodes every image in an action chunk's rows when it reads the chunk, so PNG frames make chunked
    # training several times slower to load (docs/simulation.md).
    video: bool = True

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError("tasks: expected at least one MetaWorld task name, e.g. 'push-v3'")
        check_sizes(self)
        if self.max_steps > EPISODE_LIMIT:
            raise ValueError(f"max_steps={self.max_steps}: expected <= {EPISODE_LIMIT}, MetaWorld's episode limit")
        if not 0.0 <= self.action_noise <= 1.0:
            raise ValueError(f"action_noise={self.action_noise}: expected a std in [0, 1] (actions lie in [-1, 1])")

    def data_defining(self) -> dict[str, Any]:
        """The settings a resumed collection must share with the first run (the rest may grow)."""
        return {k: getattr(self, k) for k in ("seed", "image_size", "action_noise", "max_steps", "video")}


def import_lerobot_metaworld() -> ModuleType:
    """LeRobot's metaworld env module, with the renderer configured and clear errors for missing packages."""
    configure_renderer()
    try:
        import mujoco
    except ImportError as err:
        raise ImportError(
            "MetaWorld support needs mujoco and metaworld: pip install 'lerobot_policy_actioncodec[metaworld]'"
        ) from err
    version = tuple(int(p) for p in mujoco.__version__.split(".")[:2])
    if not MUJOCO_RANGE[0] <= version < MUJOCO_RANGE[1]:
        raise ImportError(
            f"mujoco {mujoco.__version__} is installed but metaworld 3.0 needs mujoco >= 3.3, < 3.4: "
            "pip install 'mujoco>=3.3,<3.4'"
        )
    try:
        from lerobot.envs import metaworld as lerobot_metaworld
    except ImportError as err:
        raise ImportError("MetaWorld is not installed: pip install 'lerobot_policy_actioncodec[metaworld]'") from err
    return lerobot_metaworld


def difficulty_groups() -> dict[str, list[str]]:
    """LeRobot's MetaWorld difficulty groups (easy, medium, hard, very_hard -> task names), read from the file its
    metaworld env loads them from, so reports need neither MetaWorld nor MuJoCo."""
    from importlib.resources import files

    return json.loads(files("lerobot.envs").joinpath("metaworld_config.json").read_text())["DIFFICULTY_TO_TASKS"]


def expand_tasks(tasks: Sequence[str], known: Sequence[str], groups: dict[str, list[str]]) -> list[str]:
    """Task names, with LeRobot's difficulty groups expanded and the `metaworld-` prefix dropped; no repeats."""
    names: list[str] = []
    for raw in tasks:
        task = raw.strip().removeprefix("metaworld-")
        if task in groups:
            names.extend(groups[task])
        elif task in known:
            names.append(task)
        else:
            raise ValueError(
                f"tasks: unknown MetaWorld task {raw!r}; expected a task name such as 'push-v3' "
                f"or one of LeRobot's groups {sorted(groups)}"
            )
    return list(dict.fromkeys(names))


def metaworld_features(image_size: int, video: bool = True) -> dict[str, dict]:
    """LeRobotDataset features with the keys lerobot-eval's metaworld env produces (after its preprocessing)."""
    from lerobot.utils.constants import ACTION, OBS_IMAGE, OBS_STATE

    return {
        OBS_IMAGE: {
            "dtype": "video" if video else "image",
            "shape": (image_size, image_size, 3),
            "names": ["height", "width", "channels"],
        },
        OBS_STATE: {"dtype": "float32", "shape": (len(STATE_NAMES),), "names": STATE_NAMES},
        ACTION: {"dtype": "float32", "shape": (len(ACTION_NAMES),), "names": ACTION_NAMES},
    }


def make_env(lerobot_metaworld: ModuleType, task: str, image_size: int) -> Any:
    """LeRobot's MetaworldEnv for `task`, rendering `image_size` x `image_size` frames."""
    env = lerobot_metaworld.MetaworldEnv(task=task, obs_type="pixels_agent_pos")
    env._ensure_env()  # builds the MuJoCo env; nothing has been rendered yet, so the size can still change
    sim = env._env
    sim.model.vis.global_.offwidth = max(sim.model.vis.global_.offwidth, image_size)
    sim.model.vis.global_.offheight = max(sim.model.vis.global_.offheight, image_size)
    sim.mujoco_renderer.width = sim.mujoco_renderer.height = image_size
    return env


def rollout_expert(
    env: Any, rng: np.random.Generator, action_noise: float, max_steps: int
) -> tuple[list[dict[str, np.ndarray]], bool]:
    """One expert episode as dataset frames (observation before each action) and whether it succeeded.

    The recorded action is the one executed: expert + noise, kept inside the env's action box [-1, 1].
    """
    from lerobot.utils.constants import ACTION, OBS_IMAGE, OBS_STATE

    obs, _ = env.reset(seed=int(rng.integers(2**31)))
    frames: list[dict[str, np.ndarray]] = []
    for _ in range(max_steps):
        # The expert reads MetaWorld's full 39-D state, which LeRobot's wrapper reduces to 4-D.
        expert_action = np.asarray(env.expert_policy.get_action(env._env._get_obs()), dtype=np.float64)
        noisy = (
            expert_action + rng.normal(0.0, action_noise, size=expert_action.shape) if action_noise else expert_action
        )
        action = np.clip(noisy, -1.0, 1.0).astype(np.float32)
        frames.append({OBS_IMAGE: obs["pixels"], OBS_STATE: obs["agent_pos"].astype(np.float32), ACTION: action})
        obs, _, terminated, truncated, info = env.step(action)
        if info["is_success"]:
            return frames, True
        if terminated or truncated:
            break
    return frames, False


def _episode_rng(seed: int, task: str, attempt: int) -> np.random.Generator:
    """Seeds depend on the task's name, not its position, so adding tasks never changes other tasks' episodes."""
    return np.random.default_rng([seed, zlib.crc32(task.encode()), attempt])


class _TaskRollouts:
    """One MetaWorld task's env and expert (data/collection.py's TaskRollouts)."""

    def __init__(self, lerobot_metaworld: ModuleType, task: str, settings: CollectionSettings):
        self.task, self.settings = task, settings
        self.description = lerobot_metaworld.TASK_DESCRIPTIONS[task]
        self.env = make_env(lerobot_metaworld, task, settings.image_size)

    def rollout(self, attempt: int) -> tuple[list[dict[str, np.ndarray]], bool]:
        rng = _episode_rng(self.settings.seed, self.task, attempt)
        return rollout_expert(self.env, rng, self.settings.action_noise, self.settings.max_steps)

    def close(self) -> None:
        self.env.close()


def collect_metaworld(
    root: str | Path, repo_id: str, settings: CollectionSettings, progress: bool = True
) -> CollectionSummary:
    """Roll out the experts for `settings.tasks` and append the successful episodes to the dataset at `root`."""
    lerobot_metaworld = import_lerobot_metaworld()
    tasks = expand_tasks(
        settings.tasks, list(lerobot_metaworld.TASK_DESCRIPTIONS), lerobot_metaworld.DIFFICULTY_TO_TASKS
    )
    root, tool = Path(root), "actioncodec-collect-metaworld"
    record = CollectionRecord.open_or_new(root, settings.data_defining(), tool)
    features = metaworld_features(settings.image_size, settings.video)
    spec = DatasetSpec(repo_id, features, FPS, ROBOT_TYPE, settings.video)
    return collect(root, spec, record, tasks, settings.episodes_per_task, settings.attempts_per_episode,
                   lambda task: _TaskRollouts(lerobot_metaworld, task, settings), progress,
                   failure_hint="lower --action-noise or raise --max-steps")  # fmt: skip
