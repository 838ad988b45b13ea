"""Choosing action tokens from logits: greedy by default, temperature and top-k sampling as options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
        allowed = (after >= 0) & (after <= max(positions_left - 2, 0) * int(symbols.max()))
        allowed[:, self.end_token] = remaining == 0
        allowed[remaining == 0] = symbols == 0
        stuck = ~allowed.any(-1)
        allowed[stuck] = True
        return allowed


def decode_autoregressively(
    next_logits: Callable[[Tensor | None], Tensor],
    num_tokens: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    stop_token: int | None = None,
    exact_length: ExactLength | None = None,
) -> Tensor:
    """`num_tokens` ids [B, n]. `next_logits(None)` reads the prompt, `next_logits(ids)` appends the last chosen
    ids (a KV cache makes that one new position); both return the next position's [B, V] logits over the action
    vocabulary only, so every chosen id is valid: constrained decoding by construction. With `stop_token`, a row
    that has chosen it keeps choosing it, and decoding ends early once every row has. With `exact_length`, only
    ids that keep each row's stream able to reach its exact length are chosen."""
    tokens: list[Tensor] = []
    stopped: Tensor | None = None
    logits = next_logits(None)
    remaining = None
    if exact_length is not None:
        remaining = torch.full(logits.shape[:1], exact_length.total, dtype=torch.long, device=logits.device)
    for position in range(num_tokens):
        if exact_length is not None:
            logits = logits.masked_fill(~exact_length.allowed(remaining, num_tokens - position), float("-inf"))
        chosen = choose_tokens(logits, temperature, top_k)
        if stop_token is not None:
            stopped = chosen == stop_token if stopped is None else stopped | (chosen == stop_token)
            chosen = torch.where(stopped, stop_token, chosen)
        if remaining is not None:
            remaining = (remaining - exact_length.symbols.to(chosen.device)[chosen]).clamp(min=0)
        tokens.append(chosen)
        if stopped is not None and bool(stopped.all()):
            tokens += [chosen] * (num_tokens - position - 1)
            break
        if position + 1 < num_tokens:
            logits = next_logits(tokens[-1])
    return torch.stack(tokens, 1)
