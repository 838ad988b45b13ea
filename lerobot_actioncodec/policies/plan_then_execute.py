"""Plan-then-execute token sequences (Coarse-to-Control, `../shared/papers/004_*`, section 3.3).

The autoregressive head's target becomes `[plan tokens, exec tokens]`: the coarse plan of the next H_p actions
(coarse_plan.py) in a tokenizer's plan mode, then the execution chunk's tokens, both teacher-forced with one
cross-entropy. At inference the head generates the plan first and only the exec tokens are decoded and executed.

"joint": the plan comes from the execution tokenizer's own plan mode (a joint-mode ActionCodec tokenizer), so the
two share the vocabulary: a plan id and an exec id with the same value are the same code. "separate" (the paper's
ablation): the plan comes from another tokenizer, and its ids get a range of their own after the execution
vocabulary, so the head has two vocabularies and each position may only take its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..decoding import LevelRanges
from ..tokenizers.interface import TokenSequences
from ..tokenizers.layout import ActionTokenLayout, level_rule

PLAN_MODES = ("none", "joint", "separate")


@dataclass(frozen=True)
class PlanExecuteLayout:
    """The head's view of `[plan, exec]` sequences of two fixed-budget layouts (the plan's and the execution's)."""

    plan: ActionTokenLayout
    execution: ActionTokenLayout
    shared_vocabulary: bool
    # (length, first_id, num_codes) of each quantizer level in sequence order, for tokenizers whose levels own
    # different ids (c2c, VQ-VLA, NAC); empty: every position takes every id of its tokenizer
    plan_levels: tuple[tuple[int, int, int], ...] = ()
    exec_levels: tuple[tuple[int, int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.plan.variable or self.execution.variable:
            raise ValueError("plan-then-execute needs fixed-budget tokenizers (ActionCodec); a variable budget "
                             "(fast) has no fixed plan/exec boundary")  # fmt: skip
        if self.shared_vocabulary and self.plan.vocab_size != self.execution.vocab_size:
            raise ValueError(f"a shared vocabulary needs equal sizes: plan {self.plan.vocab_size}, "
                             f"exec {self.execution.vocab_size}")  # fmt: skip

    variable = False
    end_token = None

    @property
    def plan_offset(self) -> int:
        """What the head adds to a plan id: 0 when the vocabulary is shared, else the execution vocabulary's size."""
        return 0 if self.shared_vocabulary else self.execution.vocab_size

    @property
    def head_vocab_size(self) -> int:
        return self.execution.vocab_size + (0 if self.shared_vocabulary else self.plan.vocab_size)

    @property
    def plan_positions(self) -> int:
        return self.plan.positions

    @property
    def positions(self) -> int:
        return self.plan.positions + self.execution.positions

    def targets(self, plan_tokens: TokenSequences, exec_tokens: TokenSequences) -> tuple[Tensor, Tensor]:
        """Teacher-forcing inputs and cross-entropy targets [B, positions]: the plan's ids (offset), then the exec's."""
        plan, _ = self.plan.targets(plan_tokens)
        execution, _ = self.execution.targets(exec_tokens)
        ids = torch.cat([plan + self.plan_offset, execution], dim=1)
        return ids, ids.clone()

    def sequences(self, ids: Tensor) -> TokenSequences:
        """Head output [B, positions] -> the execution tokenizer's sequences (the plan is not decoded)."""
        return self.execution.sequences(ids[:, self.plan_positions :])

    def plan_sequences(self, ids: Tensor) -> TokenSequences:
        """Head output [B, positions] -> the plan tokenizer's sequences (to inspect or decode a predicted plan)."""
        return self.plan.sequences(ids[:, : self.plan_positions] - self.plan_offset)

    def decoding_rule(self) -> LevelRanges | None:
        """Each position keeps to its own tokenizer's ids (separate vocabularies) and to its level's (tokenizers
        whose levels own different ids); None when every position may take every id."""
        plan = self.plan_levels or ((self.plan.positions, 0, self.plan.vocab_size),)
        execution = self.exec_levels or ((self.execution.positions, 0, self.execution.vocab_size),)
        levels = [(length, first + self.plan_offset, codes) for length, first, codes in plan] + list(execution)
        return level_rule(levels, self.head_vocab_size, self.positions)
