"""Coarse plan targets of Coarse-to-Control (`../shared/papers/004_*`, section 3.1, equations 3-4).

A plan summarises the next `H_p` actions in `K` plan steps of `c = H_p / K` actions each: for relative (delta)
actions a plan step holds the chunk's net motion (the sum of its motion dimensions) and the gripper's last value in
the chunk. The paper defines only that relative form; for absolute position targets (an SO-100's joints) the net
motion of a chunk is where it ends, so every dimension takes the chunk's last value.

LeRobot's dataset delivers the `H_p` future actions with `action_is_pad` marking the steps past the episode's end
(it repeats the last frame there). Those steps must not count as motion: a plan step sums only its real actions and
takes its last real value, and a plan step with no real action at all is itself padding (`plan_is_pad`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def plan_source_steps(fps: float, plan_seconds: float, plan_steps: int) -> int:
    """`H_p`: the actions `plan_seconds` cover at `fps`, rounded to a whole number of plan steps (at least one
    action per plan step), so the horizon is set in seconds per embodiment (MetaWorld's short episodes and
    LIBERO's long ones alike)."""
    if fps <= 0 or plan_seconds <= 0 or plan_steps <= 0:
        raise ValueError(
            f"fps={fps}, plan_seconds={plan_seconds}, plan_steps={plan_steps}: expected all three positive"
        )
    chunk = max(1, round(plan_seconds * fps / plan_steps))
    return chunk * plan_steps


def gripper_dimensions(action_names: Sequence[str]) -> list[int]:
    """The action dimensions whose name mentions a gripper (`gripper`, `gripper.pos`, `gripper_effort`)."""
    return [i for i, name in enumerate(action_names) if "gripper" in name.lower()]


def coarse_plan(
    actions: Tensor,
    plan_steps: int,
    gripper_dims: Sequence[int] = (),
    absolute: bool = False,
    is_pad: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """[B, H_p, D] future actions -> (plan [B, K, D], plan_is_pad [B, K]) with K = `plan_steps`.

    Motion dimensions are summed over each chunk of H_p / K actions (absolute=True: take the chunk's last value),
    `gripper_dims` take the chunk's last value; steps flagged in `is_pad` [B, H_p] are left out."""
    if actions.dim() != 3:
        raise ValueError(f"actions shape={tuple(actions.shape)}: expected [B, H_p, D]")
    batch, horizon, dim = actions.shape
    if plan_steps <= 0 or horizon % plan_steps:
        raise ValueError(f"plan_steps={plan_steps}: expected a positive divisor of the plan horizon H_p={horizon}")
    bad = [d for d in gripper_dims if not 0 <= d < dim]
    if bad:
        raise ValueError(f"gripper_dims={list(gripper_dims)}: {bad} outside the action's {dim} dimensions")
    if is_pad is None:
        is_pad = torch.zeros(batch, horizon, dtype=torch.bool, device=actions.device)
    elif tuple(is_pad.shape) != (batch, horizon):
        raise ValueError(f"is_pad shape={tuple(is_pad.shape)}: expected [B, H_p] = {[batch, horizon]}")
    chunk = horizon // plan_steps
    real = ~is_pad.bool().view(batch, plan_steps, chunk)  # [B, K, c]
    grouped = actions.view(batch, plan_steps, chunk, dim)
    # The last real action of each chunk (its first action when none is real: that plan step is padding anyway).
    positions = torch.arange(chunk, device=actions.device).expand_as(real)
    last = torch.where(real, positions, torch.zeros_like(positions)).amax(-1)  # [B, K]
    last_values = grouped.gather(2, last[..., None, None].expand(-1, -1, 1, dim)).squeeze(2)
    if absolute:
        plan = last_values
    else:
        plan = (grouped * real[..., None]).sum(2)
        gripper = list(gripper_dims)
        plan[..., gripper] = last_values[..., gripper]
    return plan, ~real.any(-1)
