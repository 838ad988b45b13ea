"""How a policy head sees any tokenizer's sequences: a fixed number of positions over a fixed vocabulary.

Fixed-budget tokenizers (ActionCodec, binning, VQ-VLA, NAC) fill every position with a code. A variable budget
(FAST) needs an end token: it gets the id right after the tokenizer's vocabulary, is appended to every target
sequence, and decoding stops at it. Positions after the end are padding, never trained on. So one policy head
can be trained on any of the package's tokenizers with everything else fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..decoding import DecodingRule, ExactLength, LevelRanges
from .interface import PAD_ID, TokenSequences, to_grid

IGNORE_INDEX = -100  # cross-entropy's default ignore index: padding after the end token


@dataclass(frozen=True)
class ActionTokenLayout:
    vocab_size: int  # the tokenizer's own ids 0..vocab_size-1
    max_tokens: int  # the longest sequence the head can emit (the budget for fixed-length tokenizers)
    variable: bool  # True: an end token follows each sequence

    @classmethod
    def from_info(cls, info: dict[str, Any], max_tokens: int | None = None) -> ActionTokenLayout:
        """From `describe_tokenizer`'s facts; `max_tokens` caps a variable budget (default: twice the longest
        sequence seen when the tokenizer was fitted)."""
        fixed = info.get("fixed_length")
        if fixed is not None:
            if max_tokens is not None and max_tokens != fixed:
                raise ValueError(
                    f"max_action_tokens={max_tokens}: the {info['kind']} tokenizer always emits {fixed} tokens; "
                    "leave it unset"
                )
            return cls(int(info["vocab_size"]), int(fixed), variable=False)
        if max_tokens is None:
            longest = info.get("longest_fit_sequence")
            if longest is None:
                raise ValueError(
                    f"max_action_tokens is unset and the {info['kind']} tokenizer's budget varies without a recorded "
                    "longest sequence: pass --policy.max_action_tokens=<the longest sequence to allow>"
                )
            max_tokens = 2 * int(longest)
        if max_tokens < 1:
            raise ValueError(f"max_action_tokens={max_tokens}: expected >= 1")
        return cls(int(info["vocab_size"]), int(max_tokens), variable=True)

    @property
    def end_token(self) -> int | None:
        return self.vocab_size if self.variable else None

    @property
    def head_vocab_size(self) -> int:
        """Ids the head chooses among: the tokenizer's, plus the end token for variable budgets."""
        return self.vocab_size + int(self.variable)

    @property
    def positions(self) -> int:
        """Positions the head predicts per chunk: the budget, plus one for the end token."""
        return self.max_tokens + int(self.variable)

    def targets(self, tokens: TokenSequences) -> tuple[Tensor, Tensor]:
        """Teacher-forcing inputs [B, positions] (padding repeats the end token) and cross-entropy targets with
        IGNORE_INDEX after the end token."""
        lengths = tokens.lengths
        if int(lengths.max()) > self.max_tokens:
            raise ValueError(
                f"a chunk was encoded into {int(lengths.max())} tokens but max_action_tokens={self.max_tokens}; "
                "expected at most that many (raise --policy.max_action_tokens)"
            )
        if not self.variable:
            grid, _ = to_grid(tokens, self.positions, 0)
            return grid, grid.clone()
        inputs, _ = to_grid(tokens, self.positions, self.vocab_size)
        targets = torch.where(torch.arange(self.positions) <= lengths[:, None], inputs, IGNORE_INDEX)
        return inputs, targets

    def sequences(self, ids: Tensor) -> TokenSequences:
        """Head output [B, positions] -> the tokenizer's sequences: cut before the first end token (a row that
        never ends keeps every position and the tokenizer's decoding repairs it)."""
        ids = ids.long().cpu()
        if not self.variable:
            return TokenSequences.fixed(ids)
        ended = ids == self.vocab_size
        lengths = torch.where(ended.any(1), ended.int().argmax(1), ids.shape[1])
        padded = torch.where(torch.arange(ids.shape[1]) < lengths[:, None], ids, PAD_ID)
        return TokenSequences(padded, lengths)


def trim_untrained(inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Teacher-forcing inputs and targets [B, positions] cut after the batch's last trained position. Under a
    causal backbone the kept positions' logits do not change and the cut ones are never trained on, so a variable
    budget (FAST: twice its longest fitted sequence) costs the batch's longest sequence, not the whole budget."""
    trained = (targets != IGNORE_INDEX).any(0).nonzero()
    keep = int(trained[-1]) + 1 if len(trained) else 1
    return inputs[:, :keep], targets[:, :keep]


def exact_length_rule(tokenizer: Any, layout: ActionTokenLayout) -> ExactLength | None:
    """The exact-length decoding rule of a variable-budget tokenizer whose ids stand for a known number of symbols
    (`symbol_counts`, `symbols_per_chunk`: FAST); None for any other."""
    if not layout.variable or not hasattr(tokenizer, "symbol_counts"):
        return None
    symbols = torch.tensor([*tokenizer.symbol_counts(), 0], dtype=torch.long)  # the end token stands for none
    if len(symbols) != layout.head_vocab_size:
        raise ValueError(f"tokenizer has {len(symbols) - 1} ids with symbol counts: expected {layout.vocab_size}")
    return ExactLength(symbols, int(tokenizer.symbols_per_chunk), layout.end_token)


def level_ranges_rule(tokenizer: Any, layout: ActionTokenLayout) -> LevelRanges | None:
    """The per-position id ranges of a fixed-budget tokenizer whose levels own different ids (`token_levels`:
    VQ-VLA, NAC); None for any other, and for one whose every position takes every id (ActionCodec, binning)."""
    levels = getattr(tokenizer, "token_levels", None)
    if layout.variable or levels is None:
        return None
    return level_rule([tuple(level) for level in levels], layout.head_vocab_size, layout.positions)


def level_rule(levels: list[tuple[int, int, int]], vocab_size: int, positions: int) -> LevelRanges | None:
    """The rule keeping each position to its level's ids ((length, first_id, num_codes) per level, in sequence
    order) over a head of `vocab_size` ids and `positions` positions; None when every position may take every id."""
    rule = LevelRanges.from_levels(levels, vocab_size)
    if rule.allowed.shape[0] != positions:
        raise ValueError(f"tokenizer levels cover {rule.allowed.shape[0]} positions: expected {positions}")
    return None if bool(rule.allowed.all()) else rule


def decoding_rule(
    tokenizer: Any, layout: ActionTokenLayout, exact_length: bool = True, level_ranges: bool = True
) -> DecodingRule | None:
    """The constrained-decoding rule a head applies to this tokenizer, if any (each can be turned off)."""
    rule = exact_length_rule(tokenizer, layout) if exact_length else None
    if rule is None and level_ranges:
        rule = level_ranges_rule(tokenizer, layout)
    return rule
