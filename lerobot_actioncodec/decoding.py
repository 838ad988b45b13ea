"""Choosing action tokens from logits: greedy by default, temperature and top-k sampling as options."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import torch
from torch import Tensor


def choose_tokens(logits: Tensor, temperature: float = 0.0, top_k: int | None = None) -> Tensor:
    """[B, V] logits -> [B] token ids. temperature 0 is greedy (argmax)."""
    if temperature <= 0:
        return logits.argmax(-1)
    scaled = logits.float() / temperature
    if top_k is not None and top_k < scaled.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    return torch.multinomial(scaled.softmax(-1), 1).squeeze(-1)


class DecodingRule(Protocol):
    """Which ids may be chosen at each position of a chunk's sequence (constrained decoding), with any state the
    choice so far implies."""

    def start(self, batch: int, device: torch.device) -> Any:
        """The state before the first position."""

    def mask(self, state: Any, position: int, num_tokens: int) -> Tensor:
        """[B, V] bool: the ids allowed at `position` of `num_tokens`."""

    def advance(self, state: Any, chosen: Tensor) -> Any:
        """The state after choosing `chosen` [B] at the current position."""


@dataclass(frozen=True)
class ExactLength:
    """Constrained decoding for a variable-length tokenizer whose chunk is exactly `total` symbols and whose ids
    each stand for a known number of them (FAST: T x D DCT coefficients; a BPE id is its merged characters).

    Free decoding must hit the exact total by itself: one id that merges one coefficient more or less anywhere
    changes the stream's length, and the chunk decodes only after repair. Here, at each position, only the ids
    that keep the total reachable are allowed: none longer than what remains, none so short that the positions
    left could no longer hold the rest, and the end token exactly when nothing remains. A row left with no
    allowed id (a budget too short for the total) is decoded freely and repaired by the tokenizer, as before."""

    symbols: Tensor  # [V] long: symbols each head id stands for, 0 for the end token
    total: int
    end_token: int

    def allowed(self, remaining: Tensor, positions_left: int) -> Tensor:
        """[B, V] bool: the ids allowed at a position, for `remaining` [B] symbols still to emit and
        `positions_left` positions including this one (the end token needs the last of them)."""
        symbols = self.symbols.to(remaining.device)
        after = remaining[:, None] - symbols
        allowed = (after >= 0) & (after <= max(positions_left - 2, 0) * self.longest)
        allowed[:, self.end_token] = remaining == 0
        allowed[remaining == 0] = symbols == 0
        stuck = ~allowed.any(-1)
        allowed[stuck] = True
        return allowed

    @cached_property
    def longest(self) -> int:
        """The most symbols one id stands for."""
        return int(self.symbols.max())

    def start(self, batch: int, device: torch.device) -> Tensor:
        return torch.full((batch,), self.total, dtype=torch.long, device=device)

    def mask(self, state: Tensor, position: int, num_tokens: int) -> Tensor:
        return self.allowed(state, num_tokens - position)

    def advance(self, state: Tensor, chosen: Tensor) -> Tensor:
        return (state - self.symbols.to(chosen.device)[chosen]).clamp(min=0)


@dataclass(frozen=True)
class LevelRanges:
    """Constrained decoding for a fixed-length tokenizer of several quantizer levels with their own id ranges
    (VQ-VLA's residual levels, NAC's codebooks): each position allows only its level's ids. Free decoding can
    choose another level's id at a position, which the tokenizer can decode only after repair (the row then runs
    as no motion), a failure the tokenizer's layout rules out by construction."""

    allowed: Tensor  # [positions, V] bool

    @classmethod
    def from_levels(cls, levels: Sequence[tuple[int, int, int]], vocab_size: int) -> LevelRanges:
        """From (length, first_id, num_codes) per level, in sequence order."""
        rows = []
        for length, first_id, num_codes in levels:
            row = torch.zeros(vocab_size, dtype=torch.bool)
            row[first_id : first_id + num_codes] = True
            rows += [row] * length
        return cls(torch.stack(rows))

    def start(self, batch: int, device: torch.device) -> Tensor:
        """The allowed ids per position on the logits' device, once per sequence: [B, positions, V]."""
        return self.allowed.to(device).unsqueeze(0).expand(batch, -1, -1)

    def mask(self, state: Tensor, position: int, num_tokens: int) -> Tensor:
        return state[:, position]

    def advance(self, state: Tensor, chosen: Tensor) -> Tensor:
        return state


def decode_autoregressively(
    next_logits: Callable[[Tensor | None], Tensor],
    num_tokens: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    stop_token: int | None = None,
    rule: DecodingRule | None = None,
) -> Tensor:
    """`num_tokens` ids [B, n]. `next_logits(None)` reads the prompt, `next_logits(ids)` appends the last chosen
    ids (a KV cache makes that one new position); both return the next position's [B, V] logits over the action
    vocabulary only, so every chosen id is valid: constrained decoding by construction. With `stop_token`, a row
    that has chosen it keeps choosing it, and decoding ends early once every row has. With a `rule` (ExactLength,
    LevelRanges), only the ids it allows at each position are chosen."""
    tokens: list[Tensor] = []
    stopped: Tensor | None = None
    logits = next_logits(None)
    state = None if rule is None else rule.start(logits.shape[0], logits.device)
    for position in range(num_tokens):
        if rule is not None:
            logits = logits.masked_fill(~rule.mask(state, position, num_tokens).to(logits.device), float("-inf"))
        chosen = choose_tokens(logits, temperature, top_k)
        if stop_token is not None:
            stopped = chosen == stop_token if stopped is None else stopped | (chosen == stop_token)
            chosen = torch.where(stopped, stop_token, chosen)
        if rule is not None:
            state = rule.advance(state, chosen)
        tokens.append(chosen)
        if stopped is not None and bool(stopped.all()):
            tokens += [chosen] * (num_tokens - position - 1)
            break
        if position + 1 < num_tokens:
            logits = next_logits(tokens[-1])
    return torch.stack(tokens, 1)
