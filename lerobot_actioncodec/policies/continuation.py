"""Choosing, among candidate chunks, the one that continues the chunk being executed most smoothly.

LeRobot's real-time chunking (`lerobot-rollout --inference.type=rtc`) predicts the next chunk while the current one
runs: the new chunk is taken over `inference_delay` steps after its observation, and until then the previous
chunk's leftover actions run. A flow-matching head is guided towards the leftover during integration (the KI
head does that with LeRobot's RTCProcessor); a token head cannot be, so it samples several chunks and keeps the one
whose action at the switch is closest to what the leftover would have done there, which is the chunk-boundary jump
that `rollout_log.py` measures.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def leftover_actions(prev_chunk_left_over: Tensor) -> Tensor:
    """[B, H, D] leftover actions without the all-zero rows LeRobot's RTC engine pads them with at the end.

    Accepts [H, D] (the engine's single robot) too. A leftover that is all padding keeps one row."""
    prev = prev_chunk_left_over.float()
    if prev.dim() == 2:
        prev = prev.unsqueeze(0)
    if prev.dim() != 3:
        raise ValueError(
            f"prev_chunk_left_over has shape {tuple(prev_chunk_left_over.shape)}: expected [H, D] or [B, H, D]"
        )
    real = prev.ne(0).any(-1).any(0)  # [H]: a step some row really has
    length = int(real.nonzero().max()) + 1 if real.any() else 1
    return prev[:, :length]


def switch_gaps(candidates: Tensor, prev_chunk_left_over: Tensor, inference_delay: int) -> Tensor:
    """[B, K]: for each of K candidate chunks [B, K, T, D], the distance (raw units, L2 over the action's
    dimensions) between its action at the switch step `inference_delay` and the leftover's at that step (its last
    one when the delay runs past the leftover)."""
    if inference_delay < 0:
        raise ValueError(f"inference_delay={inference_delay}: expected >= 0")
    prev = leftover_actions(prev_chunk_left_over).to(candidates.device)
    if prev.shape[0] not in (1, candidates.shape[0]) or prev.shape[-1] != candidates.shape[-1]:
        raise ValueError(
            f"prev_chunk_left_over {tuple(prev.shape)} does not match the chunks {tuple(candidates.shape)}: "
            "expected [H, D] or [B, H, D] with the policy's action dimension"
        )
    step = min(inference_delay, candidates.shape[2] - 1)
    reference = prev[:, min(inference_delay, prev.shape[1] - 1)]  # [B or 1, D]
    return torch.linalg.vector_norm(candidates[:, :, step] - reference[:, None], dim=-1)


def choose_continuation(candidates: Tensor, prev_chunk_left_over: Tensor, inference_delay: int) -> Tensor:
    """[B, T, D]: per row, the candidate of [B, K, T, D] with the smallest switch gap (the first one on ties)."""
    best = switch_gaps(candidates, prev_chunk_left_over, inference_delay).argmin(-1)
    return candidates[torch.arange(len(candidates), device=candidates.device), best]


def repeat_rows(observation: Any, times: int) -> Any:
    """`observation` with each row repeated `times` times, row b's copies side by side, so that the candidates of one
    observation decode in one batch from a prefix computed once: a tensor, or a backbone's prompt or prefix cache
    (their own `repeat_rows`)."""
    if isinstance(observation, Tensor):
        return observation.repeat_interleave(times, 0)
    return observation.repeat_rows(times)
