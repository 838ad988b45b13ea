"""Chunk-boundary statistics of a rollout: the deploy-level counterpart of the overlap rate.

The overlap rate says how stable a tokenizer's training targets are; what an arm feels is the step between the
last executed action of one chunk and the first action of the next. A policy with `rollout_log` set (e.g.
`lerobot-eval --policy.rollout_log=<eval dir>/rollout_log.jsonl`) appends one JSON line per predicted chunk:
its largest boundary jump per environment (max over action dimensions, raw units), its mean step inside the
executed part (the same measure, so the two compare), and how many of its rows were replaced by no motion or
repaired. `summarize_rollout_log` aggregates a file; `actioncodec-eval-report` prints it next to success.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from torch import Tensor

ROLLOUT_LOG_NAME = "rollout_log.jsonl"


class RolloutLog:
    """Appends chunk records to a JSON-lines file (created with its folder on the first record)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def record(self, episode: int, chunk: Tensor, last_action: Tensor | None, invalid: int, repaired: int) -> None:
        """`chunk` [B, steps, D]: the part that will be executed; `last_action` [B, D]: the action executed just
        before it in this episode (None at an episode's first chunk: no boundary)."""
        jumps = None if last_action is None else (chunk[:, 0] - last_action).abs().amax(-1).tolist()
        steps = (chunk[:, 1:] - chunk[:, :-1]).abs().amax(-1).mean(-1).tolist() if chunk.shape[1] > 1 else None
        line = {"episode": episode, "rows": len(chunk), "jump": jumps, "in_chunk_step": steps,
                "invalid": invalid, "repaired": repaired}  # fmt: skip
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as file:
            file.write(json.dumps(line) + "\n")


def summarize_rollout_log(path: str | Path) -> dict[str, Any]:
    """Chunks, no-motion and repaired rows, and the boundary jumps (largest, mean) against the mean in-chunk step."""
    records = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    jumps = [j for r in records if r["jump"] is not None for j in r["jump"]]
    steps = [s for r in records if r["in_chunk_step"] is not None for s in r["in_chunk_step"]]
    chunks = sum(r["rows"] for r in records)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else math.nan

    return {
        "chunks": chunks,
        "invalid_chunks": sum(r["invalid"] for r in records),
        "repaired_chunks": sum(r["repaired"] for r in records),
        "boundaries": len(jumps),
        "jump_max": max(jumps) if jumps else math.nan,
        "jump_mean": mean(jumps),
        "in_chunk_step_mean": mean(steps),
    }
