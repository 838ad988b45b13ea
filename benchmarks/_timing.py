"""Shared by the benchmark scripts (run as `python benchmarks/<script>.py`, so this folder is on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lerobot_actioncodec.benchmark import timed  # noqa: F401  (re-exported for the scripts)


def training_step(policy: Any, optimizer: Any, batch: dict) -> Callable[[], None]:
    """One forward/backward/AdamW step of a LeRobot policy on a fixed batch (model only, no data loading)."""
    return loss_step(lambda: policy(batch)[0], optimizer)


def loss_step(loss: Callable[[], Any], optimizer: Any) -> Callable[[], None]:
    """One backward/optimizer step of whatever `loss()` computes."""

    def step() -> None:
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()

    return step
