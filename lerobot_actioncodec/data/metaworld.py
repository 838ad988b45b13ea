"""Scripted MetaWorld demonstrations written as a LeRobotDataset that `lerobot-eval --env.type=metaworld` matches.

Rollouts run inside LeRobot's own `lerobot.envs.metaworld.MetaworldEnv`, so the camera, the image flip, the
4-D state (hand position + gripper opening), the 4-D action and the task strings are exactly what
`lerobot-eval` feeds a policy. MetaWorld's scripted expert for each task acts, optionally with Gaussian action
noise for diversity, and only successful episodes are kept.

Collection is resumable: a record next to LeRobot's metadata (`meta/actioncodec_collection.json`) keeps the
settings and how many attempts each task used, so running the same command again adds only the missing
episodes (and does nothing once the dataset is complete), with the same seeds an uninterrupted run would use.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from tqdm import tqdm

from ..rendering import configure_renderer

logger = logging.getLogger(__name__)

# A small MT10 subset with short, reliable expert episodes (about 0.6-1.2 s at 80 Hz).
DEFAULT_TASKS = ("reach-v3", "push-v3", "pick-place-v3", "door-open-v3", "drawer-open-v3")
FPS = 80  # LeRobot's MetaworldEnv control frequency (its `--env.fps`)
EVAL_IMAGE_SIZE = 480  # lerobot-eval's metaworld env renders 480x480 frames
EPISODE_LIMIT = 500  # MetaWorld's max_path_length; lerobot-eval truncates there
STATE_NAMES = ["hand_x", "hand_y", "hand_z", "gripper_opening"]
ACTION_NAMES = ["delta_x", "delta_y", "delta_z", "gripper_effort"]
ROBOT_TYPE = "metaworld_sawyer"  # the name of this embodiment in configs/embodiments.json
RECORD_FILE = "meta/actioncodec_collection.json"
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
        for name in ("episodes_per_task", "image_size", "max_steps", "attempts_per_episode"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: expected an integer >= 1")
        if self.max_steps > EPISODE_LIMIT:
            raise ValueError(f"max_steps={self.max_steps}: expected <= {EPISODE_LIMIT}, MetaWorld's episode limit")
        if not 0.0 <= self.action_noise <= 1.0:
            raise ValueError(f"action_noise={self.action_noise}: expected a std in [0, 1] (actions lie in [-1, 1])")

    def data_defining(self) -> dict[str, Any]:
        """The settings a resumed collection must share with the first run (the rest may grow)."""
        return {k: getattr(self, k) for k in ("seed", "image_size", "action_noise", "max_steps", "video")}


@dataclass
class CollectionSummary:
    root: str
    episodes: dict[str, int] = field(default_factory=dict)  # task -> successful episodes in the dataset
    attempts: dict[str, int] = field(default_factory=dict)  # task -> expert rollouts tried so far
    new_episodes: int = 0
    new_frames: int = 0
    seconds: float = 0.0

    @property
    def seconds_per_frame(self) -> float:
        return self.seconds / self.new_frames if self.new_frames else float("nan")


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


class CollectionRecord:
    """The sidecar file that makes a collection resumable: its settings and per-task progress."""

    def __init__(self, root: Path, settings: CollectionSettings):
        self.path = root / RECORD_FILE
        self.settings = settings
        self.episodes: dict[str, int] = {}
        self.attempts: dict[str, int] = {}

    @classmethod
    def open(cls, root: Path, settings: CollectionSettings) -> CollectionRecord | None:
        """The record of an earlier collection into `root` (None for a new root), checked against `settings`."""
        record = cls(root, settings)
        if not root.exists():
            return None
        if not record.path.is_file():
            raise ValueError(
                f"root={str(root)!r} exists but was not written by actioncodec-collect-metaworld "
                f"(no {RECORD_FILE}); choose a new --root or remove the directory"
            )
        saved = json.loads(record.path.read_text())
        for key, value in settings.data_defining().items():
            earlier = saved["settings"].get(key)
            if earlier != value:
                raise ValueError(
                    f"{key}={value!r} differs from the collection already in {root} ({key}={earlier!r}); "
                    "pass the same value to resume, or choose a new --root"
                )
        record.episodes = {k: int(v) for k, v in saved["episodes"].items()}
        record.attempts = {k: int(v) for k, v in saved["attempts"].items()}
        return record

    def write(self) -> None:
        payload = {"settings": self.settings.data_defining(), "episodes": self.episodes, "attempts": self.attempts}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(payload, indent=2) + "\n")


def _episode_rng(seed: int, task: str, attempt: int) -> np.random.Generator:
    """Seeds depend on the task's name, not its position, so adding tasks never changes other tasks' episodes."""
    return np.random.default_rng([seed, zlib.crc32(task.encode()), attempt])


def _open_dataset(root: Path, repo_id: str, settings: CollectionSettings, resume: bool) -> Any:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    if resume:
        dataset = LeRobotDataset.resume(repo_id, root=root, image_writer_threads=2)
        expected = metaworld_features(settings.image_size, settings.video)
        for key, feature in expected.items():
            if tuple(dataset.meta.features[key]["shape"]) != feature["shape"]:
                raise ValueError(
                    f"dataset in {root}: feature {key!r} has shape {dataset.meta.features[key]['shape']}, "
                    f"expected {feature['shape']}"
                )
        return dataset
    return LeRobotDataset.create(
        repo_id,
        fps=FPS,
        features=metaworld_features(settings.image_size, settings.video),
        root=root,
        robot_type=ROBOT_TYPE,
        use_videos=settings.video,
        image_writer_threads=2,
    )


def collect_metaworld(
    root: str | Path, repo_id: str, settings: CollectionSettings, progress: bool = True
) -> CollectionSummary:
    """Roll out the experts for `settings.tasks` and append the successful episodes to the dataset at `root`."""
    lerobot_metaworld = import_lerobot_metaworld()
    tasks = expand_tasks(
        settings.tasks, list(lerobot_metaworld.TASK_DESCRIPTIONS), lerobot_metaworld.DIFFICULTY_TO_TASKS
    )
    root = Path(root)
    record = CollectionRecord.open(root, settings)
    resume = record is not None
    record = record or CollectionRecord(root, settings)
    summary = CollectionSummary(root=str(root))
    missing = {t: max(0, settings.episodes_per_task - record.episodes.get(t, 0)) for t in tasks}
    if not any(missing.values()):
        logger.info("%s already holds %d episodes of each task; nothing to collect", root, settings.episodes_per_task)
        summary.episodes, summary.attempts = dict(record.episodes), dict(record.attempts)
        return summary

    dataset = _open_dataset(root, repo_id, settings, resume)
    start = time.perf_counter()
    bar = tqdm(total=sum(missing.values()), desc="metaworld expert episodes", unit="ep", disable=not progress)
    try:
        for task in tasks:
            if missing[task]:
                _collect_task(lerobot_metaworld, dataset, record, task, settings, summary, bar)
    finally:
        bar.close()
        dataset.finalize()
        summary.seconds = time.perf_counter() - start
        summary.episodes, summary.attempts = dict(record.episodes), dict(record.attempts)
    return summary


def _collect_task(
    lerobot_metaworld: ModuleType,
    dataset: Any,
    record: CollectionRecord,
    task: str,
    settings: CollectionSettings,
    summary: CollectionSummary,
    bar: tqdm,
) -> None:
    description = lerobot_metaworld.TASK_DESCRIPTIONS[task]
    budget = settings.episodes_per_task * settings.attempts_per_episode
    env = make_env(lerobot_metaworld, task, settings.image_size)
    try:
        while record.episodes.get(task, 0) < settings.episodes_per_task:
            attempt = record.attempts.get(task, 0)
            if attempt >= budget:
                raise RuntimeError(
                    f"task {task!r}: only {record.episodes.get(task, 0)} of {settings.episodes_per_task} expert "
                    f"episodes succeeded in {attempt} attempts; lower --action-noise or raise --max-steps "
                    "(the episodes kept so far stay in the dataset; rerun to resume)"
                )
            bar.set_postfix(task=task, attempt=attempt)
            frames, success = rollout_expert(
                env, _episode_rng(settings.seed, task, attempt), settings.action_noise, settings.max_steps
            )
            if success:
                for frame in frames:
                    dataset.add_frame({**frame, "task": description})
                dataset.save_episode()
                record.episodes[task] = record.episodes.get(task, 0) + 1
                summary.new_episodes += 1
                summary.new_frames += len(frames)
                bar.update()
            record.attempts[task] = attempt + 1
            record.write()
    finally:
        env.close()
