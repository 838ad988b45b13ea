"""Shared by the benchmark scripts (run as `python benchmarks/<script>.py`, so this folder is on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Mean seconds per call after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def training_step(policy: Any, optimizer: Any, batch: dict) -> Callable[[], None]:
    """One forward/backward/AdamW step of a LeRobot policy on a fixed batch (model only, no data loading)."""

    def step() -> None:
        loss, _ = policy(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step
