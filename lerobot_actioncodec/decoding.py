"""Choosing action tokens from logits: greedy by default, temperature and top-k sampling as options."""

from __future__ import annotations

from collections.abc import Callable

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


def decode_autoregressively(
    next_logits: Callable[[Tensor | None], Tensor],
    num_tokens: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    stop_token: int | None = None,
) -> Tensor:
    """`num_tokens` ids [B, n]. `next_logits(None)` reads the prompt, `next_logits(ids)` appends the last chosen
    ids (a KV cache makes that one new position); both return the next position's [B, V] logits over the action
    vocabulary only, so every chosen id is valid: constrained decoding by construction. With `stop_token`, a row
    that has chosen it keeps choosing it, and decoding ends early once every row has."""
    tokens: list[Tensor] = []
    stopped: Tensor | None = None
    logits = next_logits(None)
    for position in range(num_tokens):
        chosen = choose_tokens(logits, temperature, top_k)
        if stop_token is not None:
            stopped = chosen == stop_token if stopped is None else stopped | (chosen == stop_token)
            chosen = torch.where(stopped, stop_token, chosen)
        tokens.append(chosen)
        if stopped is not None and bool(stopped.all()):
            tokens += [chosen] * (num_tokens - position - 1)
            break
        if position + 1 < num_tokens:
            logits = next_logits(tokens[-1])
    return torch.stack(tokens, 1)
