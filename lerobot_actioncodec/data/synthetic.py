"""Smooth synthetic trajectories written as a LeRobotDataset.

Each task has its own motion "style" (dominant frequencies and amplitudes per joint), each episode draws
random phases and offsets around it, and the last dimension is a gripper that closes and opens once with
a smooth transition. The result looks like teleoperated joint-delta data: smooth, low-frequency,
task-dependent, with a bimodal gripper channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

DEFAULT_TASKS = (
    "reach the red block",
    "push the cube to the left",
    "open the top drawer",
    "pick up the bowl and place it on the plate",
)


@dataclass
class SyntheticSpec:
    num_episodes: int = 30
    episode_length: int = 100
    action_dim: int = 7
    fps: int = 20
    image_size: int = 0  # 0: no camera feature
    seed: int = 0
    tasks: tuple[str, ...] = DEFAULT_TASKS

    def __post_init__(self) -> None:
        for name in ("num_episodes", "episode_length", "action_dim", "fps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: expected >= 1")
        if self.action_dim < 2:
            raise ValueError(f"action_dim={self.action_dim}: expected >= 2 (joints + gripper)")
        if self.image_size < 0:
            raise ValueError(f"image_size={self.image_size}: expected >= 0 (0 disables the camera)")
        if not self.tasks:
            raise ValueError("tasks: expected at least one task string")


def smooth_episode(rng: np.random.Generator, task_style: dict, length: int, fps: int, action_dim: int) -> np.ndarray:
    """One episode of actions [length, action_dim] (float32)."""
    t = np.arange(length) / fps
    joints = action_dim - 1
    freqs, amps = task_style["freqs"], task_style["amps"]
    phases = rng.uniform(0, 2 * np.pi, size=freqs.shape)
    offsets = rng.normal(0, 0.1, size=(joints,))
    waves = amps[None] * np.sin(2 * np.pi * freqs[None] * t[:, None, None] + phases[None])
    arm = waves.sum(-1) + offsets + rng.normal(0, 0.01, size=(length, joints))
    close_at, open_at = np.sort(rng.uniform(0.2, 0.9, size=2)) * t[-1]
    sharpness = 12.0
    gripper = 1 / (1 + np.exp(-sharpness * (t - close_at))) - 1 / (1 + np.exp(-sharpness * (t - open_at)))
    return np.concatenate([arm, (2 * gripper - 1)[:, None]], axis=1).astype(np.float32)


def task_styles(rng: np.random.Generator, num_tasks: int, joints: int, waves: int = 3) -> list[dict]:
    return [
        {
            "freqs": rng.uniform(0.1, 1.2, size=(joints, waves)),
            "amps": rng.uniform(0.05, 0.5, size=(joints, waves)) / np.arange(1, waves + 1),
        }
        for _ in range(num_tasks)
    ]


def generate_episodes(spec: SyntheticSpec) -> list[tuple[np.ndarray, str]]:
    rng = np.random.default_rng(spec.seed)
    styles = task_styles(rng, len(spec.tasks), spec.action_dim - 1)
    episodes = []
    for index in range(spec.num_episodes):
        task_id = index % len(spec.tasks)
        episodes.append(
            (smooth_episode(rng, styles[task_id], spec.episode_length, spec.fps, spec.action_dim), spec.tasks[task_id])
        )
    return episodes


def render_state(state: np.ndarray, size: int) -> np.ndarray:
    """A tiny picture of the state: one bright square per joint along a row, height = joint value."""
    image = np.zeros((size, size, 3), dtype=np.uint8)
    cols = np.linspace(0, size - 1, num=len(state)).astype(int)
    rows = np.clip(((np.tanh(state) + 1) / 2 * (size - 1)).astype(int), 0, size - 1)
    image[rows, cols] = (255, 200, 50)
    return image


def write_synthetic_dataset(
    root: str | Path, repo_id: str = "local/synthetic_smooth", spec: SyntheticSpec | None = None
):
    """Write the dataset to `root` (which must not exist) and return the LeRobotDataset."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    spec = spec or SyntheticSpec()
    root = Path(root)
    if root.exists():
        raise ValueError(f"root={str(root)!r} already exists; expected a new directory (LeRobot never overwrites)")
    names = [f"joint_{i}" for i in range(spec.action_dim - 1)] + ["gripper"]
    features = {
        "observation.state": {"dtype": "float32", "shape": (spec.action_dim,), "names": names},
        "action": {"dtype": "float32", "shape": (spec.action_dim,), "names": names},
    }
    if spec.image_size:
        features["observation.images.front"] = {
            "dtype": "image",
            "shape": (spec.image_size, spec.image_size, 3),
            "names": ["height", "width", "channel"],
        }
    dataset = LeRobotDataset.create(repo_id, fps=spec.fps, features=features, root=root, use_videos=False)
    for actions, task in tqdm(generate_episodes(spec), desc="writing episodes", unit="episode"):
        state = np.concatenate([np.zeros((1, spec.action_dim), np.float32), np.cumsum(actions, 0)[:-1] / spec.fps])
        for step in range(len(actions)):
            frame = {"observation.state": state[step], "action": actions[step], "task": task}
            if spec.image_size:
                frame["observation.images.front"] = render_state(state[step], spec.image_size)
            dataset.add_frame(frame)
        dataset.save_episode()
    dataset.finalize()
    return dataset
