"""Embodiment registry: what the tokenizer must know about a robot to encode its chunks.

A registry is a JSON object {name: {fps, action_dim, action_names?, chunk_seconds?, absolute_positions?,
action_stats?}} (see
`configs/embodiments.json`; `actioncodec-merge-datasets` writes one with each embodiment's action statistics).
The resolved entries are stored in the tokenizer's config.json, so a checkpoint never needs the registry file
again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_FIELDS = {
    "fps", "action_dim", "action_names", "chunk_seconds", "action_stats", "absolute_positions", "description"
}  # fmt: skip


@dataclass
class EmbodimentSpec:
    fps: float
    action_dim: int
    chunk_seconds: float = 1.0
    action_names: list[str] = field(default_factory=list)
    # LeRobot-style statistics of this embodiment's actions ({"mean": [...], "std": [...], ...}): what a tokenizer
    # co-trained on a merged dataset normalizes each embodiment with. Empty: the training dataset's stats.
    action_stats: dict[str, list[float]] = field(default_factory=dict)
    # The actions are absolute position targets (an SO-100's joints), not deltas or velocities: "no motion" is then
    # holding the present position, not a zero action, which would command every joint to its zero.
    absolute_positions: bool = False

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError(f"embodiment fps={self.fps}: expected a positive control frequency in Hz")
        if self.action_dim <= 0:
            raise ValueError(f"embodiment action_dim={self.action_dim}: expected a positive integer")
        if self.chunk_seconds <= 0:
            raise ValueError(f"embodiment chunk_seconds={self.chunk_seconds}: expected > 0")
        if self.action_names and len(self.action_names) != self.action_dim:
            raise ValueError(
                f"embodiment action_names has {len(self.action_names)} names, expected action_dim={self.action_dim}"
            )
        for stat, values in self.action_stats.items():
            if len(values) != self.action_dim:
                raise ValueError(
                    f"embodiment action_stats[{stat!r}] has {len(values)} values, expected action_dim={self.action_dim}"
                )

    @property
    def chunk_length(self) -> int:
        """Steps per chunk: chunk_seconds at this embodiment's control frequency."""
        return max(1, round(self.chunk_seconds * self.fps))


def load_registry(path: str | Path) -> dict[str, EmbodimentSpec]:
    """Read a registry JSON file into specs, with errors that name the entry and the field."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"embodiment_registry={str(path)!r}: file not found")
    raw = json.loads(path.read_text())
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"embodiment_registry={str(path)!r}: expected a non-empty JSON object of embodiments")
    specs = {}
    for name, entry in raw.items():
        unknown = set(entry) - REGISTRY_FIELDS
        if unknown:
            raise ValueError(f"embodiment {name!r} in {path}: unknown fields {sorted(unknown)}")
        for required in ("fps", "action_dim"):
            if required not in entry:
                raise ValueError(f"embodiment {name!r} in {path}: missing field {required!r}")
        specs[name] = EmbodimentSpec(
            fps=float(entry["fps"]),
            action_dim=int(entry["action_dim"]),
            chunk_seconds=float(entry.get("chunk_seconds", 1.0)),
            action_names=list(entry.get("action_names", [])),
            action_stats={k: list(map(float, v)) for k, v in entry.get("action_stats", {}).items()},
            absolute_positions=_flag(name, path, entry, "absolute_positions"),
        )
    return specs


def _flag(name: str, path: Path, entry: dict, key: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"embodiment {name!r} in {path}: {key}={value!r}, expected true or false")
    return value
