"""Vector quantization with optional residual levels (paper section 5 and appendix C).

Level 0 is its own `VectorQuantize` so that RVQ post-training can freeze it outright: a frozen level
is kept in eval mode (no EMA update, no dead-code restart, no k-means re-init), which is what makes the
level-0 tokens of the post-trained model identical to those of the VQ model it started from.

The residual levels quantize what level 0 left over *in level 0's lookup space* (after its `project_in`),
where level 0's commitment loss makes the residual small, and their codes reach the latent space through level
0's `project_out`. Residuals taken in the latent space instead are as large as the latents themselves (a
factorized code is close to its input only after projection), so extra levels there did not lower the
reconstruction error (docs/tokenizer.md, "RVQ post-training").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F
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


def to_output_space(level: VectorQuantize, codes: Tensor) -> Tensor:
    """Residual code vectors of `level`'s lookup space in its output space: its `project_out` without the bias,
    which the level's own code already carries (project_out is affine, so the sum of level 0's output and this
    is project_out of the summed codes)."""
    project_out = level.project_out
    return F.linear(codes, project_out.weight) if isinstance(project_out, nn.Linear) else codes


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

        def level(level_dim: int) -> VectorQuantize:
            return VectorQuantize(
                dim=level_dim,
                codebook_size=codebook_size,
                codebook_dim=codebook_dim,
                decay=decay,
                commitment_weight=commitment_weight,
                kmeans_init=kmeans_init,
                kmeans_iters=10,
                threshold_ema_dead_code=threshold_ema_dead_code,
            )

        # level 0 projects the latents into its lookup space; the residual levels live in that space
        self.levels = nn.ModuleList([level(dim)] + [level(codebook_dim) for _ in range(levels - 1)])

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
        first = self.levels[0]
        quantized, idx, loss = first(x)
        indices = [idx]
        losses = [loss.reshape(())] if self.frozen_levels == 0 else []
        if depth > 1:
            residual = first.project_in(x) - first.codebook[idx].detach()
            refinement = torch.zeros_like(residual)
            for level_index, level in enumerate(levels[1:], start=1):
                q, idx, loss = level(residual)
                if level_index >= self.frozen_levels:
                    losses.append(loss.reshape(()))
                residual = residual - q.detach()
                refinement = refinement + q
                indices.append(idx)
            quantized = quantized + to_output_space(first, refinement)
        loss = torch.stack(losses).sum() if losses else x.new_zeros(())
        return QuantizerOutput(quantized=quantized, indices=torch.stack(indices, dim=1), loss=loss)

    def _lookup(self, x: Tensor, levels: nn.ModuleList) -> QuantizerOutput:
        """Inference: the nearest code of each level, as VectorQuantize's eval forward finds it, without its
        training machinery (EMA, masks, losses, einops), which is most of a batch-1 encode's time."""
        residual = levels[0].project_in(x)
        indices = []
        for level in levels:
            codebook = level.codebook
            # argmin_c |r - c|^2 = argmax_c (2 r.c - |c|^2): one matmul instead of a pairwise distance
            idx = (2 * residual @ codebook.T - codebook.pow(2).sum(-1)).argmax(dim=-1)
            residual = residual - codebook[idx]
            indices.append(idx)
        indices = torch.stack(indices, dim=1)
        return QuantizerOutput(quantized=self.dequantize(indices), indices=indices, loss=x.new_zeros(()))

    def code_distance(self, x: Tensor, indices: Tensor) -> Tensor:
        """Squared distance [B, n], in level 0's lookup space, from x [B, n, dim] to the (stopped) level-0 codes
        `indices` [B, n]: small exactly when x would be looked up as those codes."""
        level = self.levels[0]
        codes = level.get_codes_from_indices(indices).detach()
        return (level.project_in(x) - codes).pow(2).mean(-1)

    def dequantize(self, indices: Tensor) -> Tensor:
        """indices [B, levels_used, n] -> quantized vectors [B, n, dim]: level 0's code vector plus the residual
        codes carried through level 0's projection."""
        if indices.shape[1] > self.num_levels:
            raise ValueError(f"tokens have {indices.shape[1]} levels, the quantizer has {self.num_levels}")
        first = self.levels[0]
        quantized = code_output(first, indices[:, 0])
        if indices.shape[1] > 1:
            refinement = sum(self.levels[i].codebook[indices[:, i]] for i in range(1, indices.shape[1]))
            quantized = quantized + to_output_space(first, refinement)
        return quantized
