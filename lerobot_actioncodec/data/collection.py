"""Resumable scripted-expert collection into a LeRobotDataset, shared by the MetaWorld and LIBERO collectors.

A record next to LeRobot's metadata (`meta/actioncodec_collection.json`) keeps the settings that define the data
and how many attempts each task used, so running the same command again adds only the missing episodes (and
does nothing once the dataset is complete), with the same attempts an uninterrupted run would make. Only
successful episodes are kept.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

logger = logging.getLogger(__name__)

RECORD_FILE = "meta/actioncodec_collection.json"


SIZES = ("episodes_per_task", "image_size", "max_steps", "attempts_per_episode")  # every collector's settings


def check_sizes(settings: Any) -> None:
    """A collector's settings: each of SIZES an integer >= 1, or a ValueError naming it."""
    for name in SIZES:
        if getattr(settings, name) < 1:
            raise ValueError(f"{name}={getattr(settings, name)}: expected an integer >= 1")


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


class CollectionRecord:
    """The sidecar file that makes a collection resumable: the settings that define its data, per-task progress."""

    def __init__(self, root: Path, settings: dict[str, Any], tool: str):
        self.path = root / RECORD_FILE
        self.settings = settings
        self.tool = tool
        self.episodes: dict[str, int] = {}
        self.attempts: dict[str, int] = {}

    @classmethod
    def open(cls, root: Path, settings: dict[str, Any], tool: str) -> CollectionRecord | None:
        """The record of an earlier collection into `root` (None for a new root), checked against `settings`."""
        record = cls(root, settings, tool)
        if not root.exists():
            return None
        if not record.path.is_file():
            raise ValueError(
                f"root={str(root)!r} exists but was not written by {tool} (no {RECORD_FILE}); choose a new --root "
                "or remove the directory"
            )
        saved = json.loads(record.path.read_text())
        for key, value in settings.items():
            earlier = saved["settings"].get(key)
            if earlier != value:
                raise ValueError(
                    f"{key}={value!r} differs from the collection already in {root} ({key}={earlier!r}); "
                    "pass the same value to resume, or choose a new --root"
                )
        record.episodes = {k: int(v) for k, v in saved["episodes"].items()}
        record.attempts = {k: int(v) for k, v in saved["attempts"].items()}
        return record

    @classmethod
    def open_or_new(cls, root: Path, settings: dict[str, Any], tool: str) -> CollectionRecord:
        """The earlier collection's record in `root`, or a new one."""
        return cls.open(root, settings, tool) or cls(root, settings, tool)

    def write(self) -> None:
        payload = {"settings": self.settings, "episodes": self.episodes, "attempts": self.attempts}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(payload, indent=2) + "\n")


@dataclass(frozen=True)
class DatasetSpec:
    """What LeRobotDataset.create needs besides the root: the collector's features, fps and robot type."""

    repo_id: str
    features: dict[str, dict]
    fps: int
    robot_type: str
    video: bool


def open_dataset(root: Path, spec: DatasetSpec, resume: bool) -> Any:
    """A new LeRobotDataset at `root`, or the one there (checked to have `spec`'s feature shapes)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    if resume:
        dataset = LeRobotDataset.resume(spec.repo_id, root=root, image_writer_threads=2)
        for key, feature in spec.features.items():
            if tuple(dataset.meta.features[key]["shape"]) != tuple(feature["shape"]):
                raise ValueError(
                    f"dataset in {root}: feature {key!r} has shape {dataset.meta.features[key]['shape']}, "
                    f"expected {feature['shape']}"
                )
        return dataset
    return LeRobotDataset.create(spec.repo_id, fps=spec.fps, features=spec.features, root=root,
                                 robot_type=spec.robot_type, use_videos=spec.video, image_writer_threads=2)  # fmt: skip


class TaskRollouts(Protocol):
    """One task's env and expert: `rollout(attempt)` -> (frames, success); the same attempt gives the same
    episode (its seed or initial state comes from the attempt number)."""

    description: str  # the task string stored with every frame (what lerobot-eval passes the policy)

    def rollout(self, attempt: int) -> tuple[list[dict[str, Any]], bool]: ...

    def close(self) -> None: ...


def collect(
    root: str | Path,
    spec: DatasetSpec,
    record: CollectionRecord,
    tasks: Sequence[str],
    episodes_per_task: int,
    attempts_per_episode: int,
    open_task: Callable[[str], TaskRollouts],
    progress: bool = True,
    failure_hint: str = "",
) -> CollectionSummary:
    """Append `episodes_per_task` successful expert episodes of each task to the dataset at `root`, resuming
    from `record` (from CollectionRecord.open, or a new one)."""
    root = Path(root)
    summary = CollectionSummary(root=str(root))
    missing = {t: max(0, episodes_per_task - record.episodes.get(t, 0)) for t in tasks}
    if not any(missing.values()):
        logger.info("%s already holds %d episodes of each task; nothing to collect", root, episodes_per_task)
        summary.episodes, summary.attempts = dict(record.episodes), dict(record.attempts)
        return summary
    dataset = open_dataset(root, spec, resume=record.path.is_file())
    start = time.perf_counter()
    bar = tqdm(total=sum(missing.values()), desc=f"{record.tool}: expert episodes", unit="ep", disable=not progress)
    try:
        for task in tasks:
            if missing[task]:
                _collect_task(dataset, record, task, episodes_per_task * attempts_per_episode, open_task(task),
                              summary, bar, episodes_per_task, failure_hint)  # fmt: skip
    finally:
        bar.close()
        dataset.finalize()
        summary.seconds = time.perf_counter() - start
        summary.episodes, summary.attempts = dict(record.episodes), dict(record.attempts)
    return summary


def _collect_task(
    dataset: Any,
    record: CollectionRecord,
    task: str,
    budget: int,
    rollouts: TaskRollouts,
    summary: CollectionSummary,
    bar: tqdm,
    episodes_per_task: int,
    failure_hint: str,
) -> None:
    try:
        while record.episodes.get(task, 0) < episodes_per_task:
            attempt = record.attempts.get(task, 0)
            if attempt >= budget:
                raise RuntimeError(
                    f"task {task!r}: only {record.episodes.get(task, 0)} of {episodes_per_task} expert episodes "
                    f"succeeded in {attempt} attempts; {failure_hint + ' ' if failure_hint else ''}(the episodes "
                    "kept so far stay in the dataset; rerun to resume)"
                )
            bar.set_postfix(task=task, attempt=attempt)
            frames, success = rollouts.rollout(attempt)
            if success:
                for frame in frames:
                    dataset.add_frame({**frame, "task": rollouts.description})
                dataset.save_episode()
                record.episodes[task] = record.episodes.get(task, 0) + 1
                summary.new_episodes += 1
                summary.new_frames += len(frames)
                bar.update()
            record.attempts[task] = attempt + 1
            record.write()
    finally:
        rollouts.close()
