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

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from .embodiments import EmbodimentSpec


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


def plan_source_steps_bound(plan_seconds: float, chunk_seconds: float, max_fps: float) -> int:
    """An upper bound of `plan_source_steps` at every fps up to `max_fps` (K = chunk_seconds x fps plan steps):
    H_p <= plan_seconds x fps + K / 2. What a config asks the dataset for while the fps is still unknown."""
    return math.ceil((plan_seconds + chunk_seconds / 2) * max_fps) + 1


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


# ----------------------------------------------------------------------------------------------- the plan mode
# A joint-mode tokenizer (section 3.2) encodes coarse plans as one more "embodiment" of its own: the plan mode of
# embodiment E is the registry entry `E:plan`, with its own soft prompt (the learned mode condition), its own
# normalization (a plan step sums c actions, so its scale is not an action's) and its own timestamps, over the
# one shared codebook.
PLAN_MODE_SUFFIX = ":plan"
PLAN_STATS = ("mean", "std", "min", "max", "q01", "q99")


def plan_mode_name(embodiment: str) -> str:
    """The name of `embodiment`'s plan mode among a joint-mode tokenizer's embodiments."""
    return embodiment + PLAN_MODE_SUFFIX


def is_plan_mode(name: str) -> bool:
    return name.endswith(PLAN_MODE_SUFFIX)


def plan_mode_spec(spec: EmbodimentSpec, plan_seconds: float, action_stats: dict | None = None) -> EmbodimentSpec:
    """The plan mode of an execution spec: K = the execution chunk's length plan steps (the paper's setting, K =
    H_e) summarising H_p = `plan_source_steps` actions; a plan step lasts c = H_p / K control steps, so the plan's
    timestamps span the H_p actions' seconds."""
    steps = spec.chunk_length
    horizon = plan_source_steps(spec.fps, plan_seconds, steps)
    seconds = horizon / spec.fps
    return EmbodimentSpec(fps=steps / seconds, action_dim=spec.action_dim, chunk_seconds=seconds,
                          action_names=list(spec.action_names), action_stats=dict(action_stats or {}),
                          absolute_positions=spec.absolute_positions)  # fmt: skip


def plan_horizon(plan: EmbodimentSpec, execution: EmbodimentSpec) -> int:
    """H_p: the actions (at the execution rate) a plan mode's K steps summarise."""
    return round(plan.chunk_seconds * execution.fps)


class PlanSettings(NamedTuple):
    """What turns the next H_p actions into a plan: H_p, K, the gripper dimensions and the action kind."""

    horizon: int
    plan_steps: int
    gripper_dims: tuple[int, ...] = ()
    absolute: bool = False

    @classmethod
    def of(cls, plan: EmbodimentSpec, execution: EmbodimentSpec) -> PlanSettings:
        """A plan mode's settings, from its spec and its execution embodiment's."""
        grippers = tuple(gripper_dimensions(execution.action_names))
        return cls(plan_horizon(plan, execution), plan.chunk_length, grippers, execution.absolute_positions)

    def plans(self, actions: Tensor, is_pad: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The next H_p raw actions [B, H_p, D] -> (plan [B, K, D], plan_is_pad [B, K]), as coarse_plan."""
        if actions.ndim != 3 or actions.shape[1] != self.horizon:
            raise ValueError(f"actions shape={tuple(actions.shape)}: expected [B, H_p={self.horizon}, D] (a plan "
                             f"summarises the next {self.horizon} actions)")  # fmt: skip
        return coarse_plan(actions.float(), self.plan_steps, self.gripper_dims, self.absolute, is_pad)


def window_plans(
    actions: Tensor, horizon: int, plan_steps: int, gripper_dims: Sequence[int] = (), absolute: bool = False
) -> Tensor:
    """The plan of every step of one episode: actions [L, D] -> plans [L, K, D], each window padded past the
    episode's end as LeRobot pads it (the last frame repeated, flagged as padding)."""
    length = len(actions)
    padded = torch.cat([actions, actions[-1:].expand(horizon - 1, -1)])
    windows = padded.unfold(0, horizon, 1).transpose(1, 2)  # [L, H_p, D]
    steps = torch.arange(length)[:, None] + torch.arange(horizon)[None]
    return coarse_plan(windows, plan_steps, gripper_dims, absolute, steps >= length)[0]


def plan_statistics(
    episodes: Sequence[Tensor], horizon: int, plan_steps: int, gripper_dims: Sequence[int] = (), absolute: bool = False
) -> dict[str, list[float]]:
    """LeRobot-style statistics (mean, std, min, max, q01, q99 per dimension) of the plan steps of every window of
    `episodes` (one [L, D] tensor each): what a plan mode is normalized with."""
    if not episodes:
        raise ValueError("episodes is empty: plan statistics need at least one episode of actions")
    steps = torch.cat([window_plans(e.float(), horizon, plan_steps, gripper_dims, absolute).flatten(0, 1)
                       for e in episodes])  # fmt: skip
    sample = steps[torch.randperm(len(steps), generator=torch.Generator().manual_seed(0))[:1_000_000]]
    quantiles = torch.quantile(sample, torch.tensor([0.01, 0.99]), dim=0)
    values = {"mean": steps.mean(0), "std": steps.std(0, unbiased=False), "min": steps.amin(0),
              "max": steps.amax(0), "q01": quantiles[0], "q99": quantiles[1]}  # fmt: skip
    return {name: values[name].tolist() for name in PLAN_STATS}


def adjacent_plan_pairs(
    episodes: Sequence[Tensor],
    horizon: int,
    plan_steps: int,
    gripper_dims: Sequence[int] = (),
    absolute: bool = False,
    max_pairs: int | None = None,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """(plans at t, plans at t + 1), each [N, K, D], of every step of `episodes` but its last, sampled evenly: the
    plan mode's counterpart of adjacent chunk pairs. Windows run past the episode's end as a policy's targets do
    (window_plans), since short episodes (MetaWorld's) have few whole windows."""
    now, later = [], []
    for episode in episodes:
        plans = window_plans(torch.as_tensor(episode).float(), horizon, plan_steps, gripper_dims, absolute)
        now.append(plans[:-1])
        later.append(plans[1:])
    now, later = torch.cat(now), torch.cat(later)
    if not len(now):
        raise ValueError("no episode has two steps: plan pairs need at least one")
    if max_pairs is not None and len(now) > max_pairs:
        keep = torch.randperm(len(now), generator=torch.Generator().manual_seed(seed))[:max_pairs].sort().values
        now, later = now[keep], later[keep]
    return now, later


def support_overlap(plan_ids: Tensor, exec_ids: Tensor, vocab_size: int) -> float:
    """sum_i min(p_plan(i), p_exec(i)) over the marginal code distributions of the plan and the execution tokens:
    how much of one vocabulary the two modes share (the paper's diagnostic: about 0.16 for its joint tokenizer)."""
    plan = torch.bincount(plan_ids.flatten().long(), minlength=vocab_size).float()
    execution = torch.bincount(exec_ids.flatten().long(), minlength=vocab_size).float()
    return float(torch.minimum(plan / plan.sum(), execution / execution.sum()).sum())
