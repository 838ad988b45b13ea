"""How well a trained token policy predicts demonstrated chunks, offline: teacher-forced against free-running.

Training logs the teacher-forced token accuracy: every position reads the true earlier tokens. At deployment an
autoregressive head reads its own earlier predictions, so one wrong token can carry the rest of the chunk off course,
which the training accuracy cannot show. On a dataset's frames (episodes the policy did not train on, for a fair
reading) this measures both, the free-running accuracy per position, and the error of the chunk the policy would
execute against the demonstrated one (the whole chunk, and its first `n_action_steps`: what a rollout runs
before it predicts again), next to the tokenizer's own reconstruction error of that chunk (the floor any
head on it starts from). It works for every head of the package: the token heads predict with `predict_tokens`
(AR decodes one token at a time, PD all positions in one pass, BAR one level per pass, KI's backbone
autoregressively) and every head's chunk is `predict_action_chunk`'s, as lerobot-eval executes it (KI: the flow).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from lerobot.utils.constants import ACTION
from torch import Tensor

from .tokenizers.layout import IGNORE_INDEX


@dataclass
class ProbeTotals:
    """Running sums over the probed frames; `summary()` turns them into the reported means."""

    frames: int = 0
    teacher_forced_hits: float = 0.0  # the policy's own logged token accuracy, weighted by frames
    position_hits: Tensor | None = None  # [positions] free-running hits per position
    position_counts: Tensor | None = None
    policy_abs_error: float = 0.0  # sum over frames of the mean |predicted - demonstrated| action
    executed_abs_error: float = 0.0  # the same over the first n_action_steps: what a rollout executes of a chunk
    tokenizer_abs_error: float = 0.0  # the same as policy_abs_error for the tokenizer's own reconstruction
    logs: dict[str, float] = field(default_factory=dict)  # other logged accuracies (per level, exec part), summed
    # the ids decoded first and demonstrated first: a policy that ignores its observation starts every chunk alike,
    # which accuracies averaged over frames do not show
    first_tokens_predicted: set[int] = field(default_factory=set)
    first_tokens_demonstrated: set[int] = field(default_factory=set)

    def add_positions(self, hits: Tensor, valid: Tensor) -> None:
        hits, valid = hits.float().sum(0), valid.float().sum(0)
        if self.position_hits is None:
            self.position_hits, self.position_counts = hits, valid
        else:
            self.position_hits, self.position_counts = self.position_hits + hits, self.position_counts + valid

    def add_first_tokens(self, predicted: Tensor, targets: Tensor) -> None:
        """Records the first position's predicted and demonstrated ids ([B] each; ignored targets skipped)."""
        self.first_tokens_predicted.update(predicted.tolist())
        self.first_tokens_demonstrated.update(targets[targets != IGNORE_INDEX].tolist())

    def summary(self, exec_from: int = 0) -> dict[str, Any]:
        """Means over the frames; `exec_from`: the first execution position (after plan tokens)."""
        if self.frames == 0 or self.position_hits is None:
            raise ValueError("no frame was probed: expected episodes longer than the policy's chunk")
        per_position = (self.position_hits / self.position_counts.clamp_min(1)).tolist()
        counted = self.position_counts > 0
        result = {
            "frames": self.frames,
            "teacher_forced_token_accuracy": self.teacher_forced_hits / self.frames,
            "free_running_token_accuracy": float(self.position_hits.sum() / self.position_counts.sum()),
            "free_running_accuracy_per_position": per_position,
            "first_position_accuracy": per_position[0],
            "last_position_accuracy": [a for a, c in zip(per_position, counted.tolist(), strict=True) if c][-1],
            "chunk_mae": self.policy_abs_error / self.frames,
            "tokenizer_chunk_mae": self.tokenizer_abs_error / self.frames,
            "executed_steps_mae": self.executed_abs_error / self.frames,
            "distinct_first_tokens": len(self.first_tokens_predicted),
            "distinct_first_tokens_demonstrated": len(self.first_tokens_demonstrated),
        }
        if exec_from:
            hits, counts = self.position_hits[exec_from:], self.position_counts[exec_from:]
            result["free_running_exec_token_accuracy"] = float(hits.sum() / counts.sum())
        result |= {name: value / self.frames for name, value in self.logs.items()}
        return result


def frame_indices(episode_bounds: Iterable[tuple[int, int]], chunk_length: int, stride: int) -> list[int]:
    """Dataset indices of every `stride`-th frame whose whole chunk lies inside its episode ([from, to) bounds), so
    no demonstrated chunk is padded."""
    if stride < 1:
        raise ValueError(f"stride={stride}: expected >= 1")
    return [i for start, end in episode_bounds for i in range(start, end - chunk_length + 1, stride)]


@torch.no_grad()
def probe_batch(policy: Any, batch: dict[str, Any], totals: ProbeTotals) -> None:
    """Adds one preprocessed batch (LeRobot's keys; `action` [B, >= chunk, D] in raw units) to `totals`."""
    actions = batch[ACTION]
    size, chunk_length = len(actions), policy.config.chunk_length
    _, logs = policy.forward(batch)
    totals.teacher_forced_hits += float(logs["token_accuracy"]) * size
    for name, value in logs.items():
        if "accuracy" in name and name != "token_accuracy":
            totals.logs[name] = totals.logs.get(name, 0.0) + float(value) * size

    _, targets = policy.target_tokens(actions, batch.get(f"{ACTION}_is_pad"))
    predicted = policy.predict_tokens(batch).flatten(1).to(targets.device)
    targets = targets[:, : predicted.shape[1]]  # BAR: the levels its passes predict
    valid = targets != IGNORE_INDEX
    totals.add_positions((predicted == targets) & valid, valid)
    totals.add_first_tokens(predicted[:, 0], targets[:, 0])

    truth = actions[:, :chunk_length].float()
    chunk = policy.predict_action_chunk(batch).float().to(truth.device)
    error = (chunk - truth).abs()
    totals.policy_abs_error += float(error.mean((1, 2)).sum())
    executed = policy.config.steps_per_prediction  # select_action's queue: what runs before the next chunk
    totals.executed_abs_error += float(error[:, :executed].mean((1, 2)).sum())
    tokenizer = policy.tokenizer
    reconstructed = tokenizer.decode(tokenizer.encode(truth.cpu())).actions.float().to(truth.device)
    totals.tokenizer_abs_error += float((reconstructed - truth).abs().mean((1, 2)).sum())
    totals.frames += size


def exec_positions_from(policy: Any) -> int:
    """The first execution position of the policy's token layout (after its plan tokens; 0 without a plan)."""
    return int(getattr(policy.layout, "plan_positions", 0))
