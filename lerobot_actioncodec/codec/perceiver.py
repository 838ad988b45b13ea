"""Perceiver encoder and decoder built from pre-norm attention blocks.

With `token_mixing="independent"` the encoder's latent queries only cross-attend to the action
sequence, so no output token depends on another one (the paper's "independent tokens", section 4.3).
`self_attention` and `causal` add a self-attention layer among the queries for the residual-grammar
ablation (appendix A.2.2).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

TokenMixing = Literal["independent", "self_attention", "causal"]
TOKEN_MIXING_CHOICES = ("independent", "self_attention", "causal")


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, dim * mult), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim * mult, dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class Attention(nn.Module):
    """Residual pre-norm attention: queries attend to `context` (itself when None).

    The weights live in an `nn.MultiheadAttention` (its parameter names are the checkpoint format), but the
    forward calls `scaled_dot_product_attention` directly: the fused kernel, and far fewer Python hops than
    MultiheadAttention's checks, which dominate a batch-1 call.
    """

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)

    def forward(self, x: Tensor, context: Tensor | None = None, attn_mask: Tensor | None = None) -> Tensor:
        """x [B, Lq, dim], context [B, Lk, dim]; attn_mask [Lq, Lk] bool, True where attention is *not* allowed."""
        attn, dim = self.attn, x.shape[-1]
        q = self.norm_q(x)
        if context is None:
            q, k, v = F.linear(q, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        else:
            q = F.linear(q, attn.in_proj_weight[:dim], attn.in_proj_bias[:dim])
            kv = F.linear(self.norm_kv(context), attn.in_proj_weight[dim:], attn.in_proj_bias[dim:])
            k, v = kv.chunk(2, dim=-1)
        heads = attn.num_heads
        q, k, v = (t.unflatten(-1, (heads, dim // heads)).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=None if attn_mask is None else ~attn_mask,
            dropout_p=attn.dropout if self.training else 0.0,
        )  # fmt: skip
        return x + attn.out_proj(out.transpose(1, 2).flatten(2))


class PerceiverLayer(nn.Module):
    """Cross-attention to a context, optional self-attention among the queries, feed-forward."""

    def __init__(self, dim: int, num_heads: int, ff_mult: int, dropout: float, self_attention: bool):
        super().__init__()
        self.cross = Attention(dim, num_heads, dropout)
        self.self_attn = Attention(dim, num_heads, dropout) if self_attention else None
        self.ff = FeedForward(dim, ff_mult, dropout)

    def forward(self, queries: Tensor, context: Tensor, self_mask: Tensor | None = None) -> Tensor:
        x = self.cross(queries, context)
        if self.self_attn is not None:
            x = self.self_attn(x, attn_mask=self_mask)
        return self.ff(x)


def causal_mask(n: int, device: torch.device | None = None) -> Tensor:
    """Boolean mask for Attention: True where attention is *not* allowed (j > i)."""
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(1)


class PerceiverEncoder(nn.Module):
    """n learnable queries cross-attend to [soft prompt; action sequence] and become n latents."""

    def __init__(
        self,
        dim: int,
        num_queries: int,
        num_layers: int,
        num_heads: int,
        ff_mult: int = 4,
        dropout: float = 0.0,
        token_mixing: TokenMixing = "independent",
    ):
        super().__init__()
        if token_mixing not in TOKEN_MIXING_CHOICES:
            raise ValueError(f"token_mixing={token_mixing!r}: expected one of {TOKEN_MIXING_CHOICES}")
        self.token_mixing = token_mixing
        self.queries = nn.Parameter(torch.randn(num_queries, dim) * 0.02)
        mixes = token_mixing != "independent"
        self.layers = nn.ModuleList(
            PerceiverLayer(dim, num_heads, ff_mult, dropout, self_attention=mixes) for _ in range(num_layers)
        )
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, context: Tensor) -> Tensor:
        """context [B, L, dim] -> latents [B, n, dim]"""
        x = self.queries.unsqueeze(0).expand(context.shape[0], -1, -1)
        mask = causal_mask(x.shape[1], x.device) if self.token_mixing == "causal" else None
        for layer in self.layers:
            x = layer(x, context, self_mask=mask)
        return self.norm_out(x)


class PerceiverDecoder(nn.Module):
    """One query per output timestep cross-attends to [soft prompt; quantized latents]."""

    def __init__(
        self,
        dim: int,
        num_layers: int,
        num_heads: int,
        ff_mult: int = 4,
        dropout: float = 0.0,
        temporal_self_attention: bool = True,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            PerceiverLayer(dim, num_heads, ff_mult, dropout, self_attention=temporal_self_attention)
            for _ in range(num_layers)
        )
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, queries: Tensor, context: Tensor) -> Tensor:
        """queries [B, T, dim], context [B, L, dim] -> [B, T, dim]"""
        x = queries
        for layer in self.layers:
            x = layer(x, context)
        return self.norm_out(x)
