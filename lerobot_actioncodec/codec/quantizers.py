"""Vector quantization with optional residual levels (paper section 5 and appendix C).

Level 0 is its own `VectorQuantize` so that RVQ post-training can freeze it outright: a frozen level
is kept in eval mode (no EMA update, no dead-code restart, no k-means re-init), which is what makes the
level-0 tokens of the post-trained model identical to those of the VQ model it started from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from vector_quantize_pytorch import VectorQuantize


@dataclass
class QuantizerOutput:
    quantized: Tensor  # [B, n, dim], sum over the levels used
    indices: Tensor  # [B, levels_used, n]
    loss: Tensor  # scalar commitment loss of the trainable levels


def code_output(level: VectorQuantize, indices: Tensor) -> Tensor:
    """The code vectors of `indices` in the input space: `level.get_output_from_indices` for one single-head,
    channel-last level, without its einops hops (a batch-1 encode or decode is mostly such hops)."""
    return level.project_out(level.codebook[indices])


class ResidualActionQuantizer(nn.Module):
    def __init__(
        self,
        dim: int,
        codebook_size: int,
        codebook_dim: int,
        levels: int = 1,
        decay: float = 0.99,
        commitment_weight: float = 0.25,
        kmeans_init: bool = True,
        threshold_ema_dead_code: float = 0.1,
        level_dropout: bool = True,
    ):
        super().__init__()
        if levels < 1:
            raise ValueError(f"rvq_levels={levels}: expected >= 1")
        self.codebook_size = codebook_size
        self.level_dropout = level_dropout
        self.frozen_levels = 0
        self.levels = nn.ModuleList(
            VectorQuantize(
                dim=dim,
                codebook_size=codebook_size,
                codebook_dim=codebook_dim,
                decay=decay,
                commitment_weight=commitment_weight,
                kmeans_init=kmeans_init,
                kmeans_iters=10,
                threshold_ema_dead_code=threshold_ema_dead_code,
            )
            for _ in range(levels)
        )

    @property
    def num_levels(self) -> int:
        return len(self.levels)

    def freeze_levels(self, count: int) -> None:
        """Freeze the first `count` levels: no gradients, no EMA, no code restarts, ever."""
        self.frozen_levels = count
        for level in self.levels[:count]:
            level.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> ResidualActionQuantizer:
        super().train(mode)
        for level in self.levels[: self.frozen_levels]:
            level.eval()
        return self

    def forward(self, x: Tensor, depth: int | None = None) -> QuantizerOutput:
        """Quantize x [B, n, dim] with the first `depth` levels (all by default).

        In training with more than one trainable level, a random depth >= frozen levels is drawn
        (quantizer dropout) so the decoder also learns to decode shallow prefixes, including level 0
        alone: that is what the exported VQ tokenizer with the post-trained decoder relies on.
        """
        if depth is None:
            depth = self.num_levels
            if self.training and self.level_dropout and self.num_levels > 1:
                depth = random.randint(max(1, self.frozen_levels), self.num_levels)
        levels = self.levels[:depth]
        if not torch.is_grad_enabled() and not any(level.training or not level._codebook.initted for level in levels):
            return self._lookup(x, levels)  # inference on initialised codebooks (k-means init runs in the forward)
        residual = x
        quantized = torch.zeros_like(x)
        indices, losses = [], []
        for level_index, level in enumerate(self.levels[:depth]):
            q, idx, loss = level(residual)
            if level_index >= self.frozen_levels:
                losses.append(loss.reshape(()))
            residual = residual - q.detach()
            quantized = quantized + q
            indices.append(idx)
        loss = torch.stack(losses).sum() if losses else x.new_zeros(())
        return QuantizerOutput(quantized=quantized, indices=torch.stack(indices, dim=1), loss=loss)

    def _lookup(self, x: Tensor, levels: nn.ModuleList) -> QuantizerOutput:
        """Inference: the nearest code of each level, as VectorQuantize's eval forward finds it, without its
        training machinery (EMA, masks, losses, einops), which is most of a batch-1 encode's time."""
        residual = x
        quantized = torch.zeros_like(x)
        indices = []
        for level in levels:
            z = level.project_in(residual)
            codebook = level.codebook
            # argmin_c |z - c|^2 = argmax_c (2 z.c - |c|^2): one matmul instead of a pairwise distance
            idx = (2 * z @ codebook.T - codebook.pow(2).sum(-1)).argmax(dim=-1)
            q = code_output(level, idx)
            residual = residual - q
            quantized = quantized + q
            indices.append(idx)
        return QuantizerOutput(quantized=quantized, indices=torch.stack(indices, dim=1), loss=x.new_zeros(()))

    def code_distance(self, x: Tensor, indices: Tensor) -> Tensor:
        """Squared distance [B, n], in level 0's lookup space, from x [B, n, dim] to the (stopped) level-0 codes
        `indices` [B, n]: small exactly when x would be looked up as those codes."""
        level = self.levels[0]
        codes = level.get_codes_from_indices(indices).detach()
        return (level.project_in(x) - codes).pow(2).mean(-1)

    def dequantize(self, indices: Tensor) -> Tensor:
        """indices [B, levels_used, n] -> summed code vectors [B, n, dim]."""
        if indices.shape[1] > self.num_levels:
            raise ValueError(f"tokens have {indices.shape[1]} levels, the quantizer has {self.num_levels}")
        quantized = None
        for i, level in enumerate(self.levels[: indices.shape[1]]):
            code = code_output(level, indices[:, i])
            quantized = code if quantized is None else quantized + code
        return quantized
