"""Several LeRobotDatasets of different embodiments written as one, to co-train the tokenizer in one lerobot-train run.

LeRobot 0.6.1 trains on one dataset (its MultiLeRobotDataset is disabled in the dataset factory), so the sources'
actions are written into a new LeRobotDataset: zero-padded to the widest embodiment, with an
`observation.embodiment_index` column saying whose each frame is (an `observation.` key, so that LeRobot's
processors pass it to the policy), and each frame's task. A dataset has one fps, so each source keeps its own
steps (one row per control step of its robot) and the merged dataset declares the highest source rate: LeRobot's
delta indices then select steps, and the tokenizer reads each sample's real rate, width and chunk length from its
embodiment. The embodiments, in index order and with each one's action statistics (the pooled statistics of
padded actions would mix robots), go to `meta/actioncodec_embodiments.json`, a registry that the tokenizer takes
as `--policy.embodiment_registry`. Cameras and states are not merged: they differ in shape between robots.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..embodiments import EmbodimentSpec

EMBODIMENT_COLUMN = "observation.embodiment_index"
REGISTRY_FILE = "meta/actioncodec_embodiments.json"
STATS_KEPT = ("mean", "std", "min", "max", "q01", "q99")


@dataclass
class MergeSource:
    """One source dataset and the name of the embodiment it was recorded with."""

    embodiment: str
    repo_id: str
    root: Path


def source_spec(dataset, known: EmbodimentSpec | None, name: str) -> EmbodimentSpec:
    """The source's embodiment: the registry's entry (checked against the dataset) or the dataset's own facts,
    with the dataset's action statistics."""
    action = dataset.meta.features["action"]
    dim, fps = int(action["shape"][0]), float(dataset.meta.fps)
    if known is not None and (abs(known.fps - fps) > 1e-6 or known.action_dim != dim):
        raise ValueError(f"source {name!r}: the registry has fps={known.fps:g}, action_dim={known.action_dim} but the "
                         f"dataset has fps={fps:g}, action_dim={dim}; expected equal")  # fmt: skip
    stats = dataset.meta.stats["action"]
    action_stats = {k: np.asarray(stats[k], dtype=float).reshape(-1).tolist() for k in STATS_KEPT if k in stats}
    names = action.get("names") if isinstance(action.get("names"), list) else []
    base = known or EmbodimentSpec(fps=fps, action_dim=dim, action_names=list(names))
    return replace(base, action_stats=action_stats)


def merge_datasets(
    sources: list[MergeSource],
    root: str | Path,
    repo_id: str,
    registry: dict[str, EmbodimentSpec] | None = None,
    progress: bool = True,
):
    """Write the sources' actions into one LeRobotDataset at `root` (which must not exist) and its embodiment
    registry at `root/meta/actioncodec_embodiments.json`; returns the merged LeRobotDataset."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(root)
    if root.exists():
        raise ValueError(f"root={str(root)!r} already exists; expected a new directory (LeRobot never overwrites)")
    if len(sources) < 2:
        raise ValueError(f"sources: {len(sources)} given; expected at least 2 embodiments to merge")
    names = [s.embodiment for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"sources: embodiment names {names} repeat; expected one source per embodiment")
    datasets = [LeRobotDataset(s.repo_id, root=s.root) for s in sources]
    specs = {s.embodiment: source_spec(d, (registry or {}).get(s.embodiment), s.embodiment)
             for s, d in zip(sources, datasets, strict=True)}  # fmt: skip
    width = max(spec.action_dim for spec in specs.values())
    features = {
        "action": {"dtype": "float32", "shape": (width,), "names": [f"action_{i}" for i in range(width)]},
        EMBODIMENT_COLUMN: {"dtype": "int64", "shape": (1,), "names": None},
    }
    fps = max(spec.fps for spec in specs.values())
    merged = LeRobotDataset.create(repo_id, fps=int(round(fps)), features=features, root=root, use_videos=False)
    total = sum(d.meta.total_episodes for d in datasets)
    bar = tqdm(total=total, desc="merging episodes", unit="episode", disable=not progress)
    for index, (name, dataset) in enumerate(zip(names, datasets, strict=True)):
        table = dataset.hf_dataset.with_format("numpy")
        actions = np.asarray(table["action"], dtype=np.float32)
        episodes, task_ids = np.asarray(table["episode_index"]), np.asarray(table["task_index"])
        task_names = {int(i): str(t) for t, i in zip(dataset.meta.tasks.index, dataset.meta.tasks["task_index"])}
        padded = np.zeros((len(actions), width), dtype=np.float32)
        padded[:, : specs[name].action_dim] = actions
        for episode in np.unique(episodes):
            for row in np.flatnonzero(episodes == episode):
                merged.add_frame({"action": padded[row], EMBODIMENT_COLUMN: np.array([index], dtype=np.int64),
                                  "task": task_names[int(task_ids[row])]})  # fmt: skip
            merged.save_episode()
            bar.update()
    bar.close()
    merged.finalize()
    registry_file = root / REGISTRY_FILE
    entries = {name: {k: v for k, v in asdict(spec).items() if v != []} for name, spec in specs.items()}
    registry_file.write_text(json.dumps(entries, indent=2) + "\n")
    return merged
