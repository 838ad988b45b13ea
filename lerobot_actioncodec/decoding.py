"""Choosing action tokens from logits: greedy by default, temperature and top-k sampling as options."""

from __future__ import annotations

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

