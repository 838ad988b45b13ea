"""Tokenizer quality metrics (paper sections 4 and appendix D).

Overlap rate, as used throughout this package: for two token sequences of chunks that start one control
step apart (A_t and A_{t+1}), the share of token positions k at which both sequences hold the same token,
averaged over pairs. For sequences of different lengths (variable-budget tokenizers), positions past
the shorter sequence count as mismatches: matches / max(len_a, len_b). With RVQ tokens [B, L, n],
every (level, position) is a position. This is the strict, position-aligned reading of the paper's
"consistency of C across temporally overlapping chunks"; a bag-of-tokens reading would score a
permuted sequence as overlapping, which an autoregressive VLA would not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

TokenSequences = Tensor | Sequence[Sequence[int]]


def _as_rows(tokens: TokenSequences) -> list[list[int]]:
    if isinstance(tokens, Tensor):
        return tokens.reshape(tokens.shape[0], -1).tolist()
    return [list(row) for row in tokens]


def overlap_rate(tokens_t: TokenSequences, tokens_next: TokenSequences) -> float:
    """Mean position-wise agreement between the tokens of chunk t and chunk t+1 (see module doc)."""
    rows_a, rows_b = _as_rows(tokens_t), _as_rows(tokens_next)
    if len(rows_a) != len(rows_b):
        raise ValueError(f"overlap_rate: {len(rows_a)} sequences at t but {len(rows_b)} at t+1; expected equal")
    if not rows_a:
        raise ValueError("overlap_rate: expected at least one pair of token sequences")
    total = 0.0
    for a, b in zip(rows_a, rows_b, strict=True):
        longest = max(len(a), len(b))
        total += 1.0 if longest == 0 else sum(x == y for x, y in zip(a, b, strict=False)) / longest
    return total / len(rows_a)


def chance_overlap_rate(tokens: TokenSequences) -> float:
    """The overlap rate of unrelated chunks: each sequence against the one half the set away. A tokenizer that
    gives every chunk the same tokens has an overlap rate of 1 and a chance overlap of 1 too, so the overlap rate
    is read against this number, never alone."""
    rows = _as_rows(tokens)
    if len(rows) < 2:
        raise ValueError("chance_overlap_rate: expected at least two token sequences")
    half = len(rows) // 2
    return overlap_rate(rows, rows[half:] + rows[:half])


def distinct_sequence_share(tokens: TokenSequences) -> float:
    """Distinct token sequences per chunk: near 1 for a tokenizer that tells chunks apart, 1/N for a collapsed one."""
    rows = _as_rows(tokens)
    if not rows:
        raise ValueError("distinct_sequence_share: expected at least one token sequence")
    return len({tuple(row) for row in rows}) / len(rows)


def code_histogram(tokens: Tensor, codebook_size: int) -> Tensor:
    return torch.bincount(tokens.reshape(-1).long(), minlength=codebook_size)[:codebook_size].float()


def codebook_usage(tokens: Tensor, codebook_size: int) -> float:
    """Share of the codebook that appears at least once in `tokens`."""
    return (code_histogram(tokens, codebook_size) > 0).float().mean().item()


def codebook_perplexity(tokens: Tensor, codebook_size: int) -> float:
    """exp(entropy) of the empirical code distribution: the effective number of codes in use."""
    p = code_histogram(tokens, codebook_size)
    p = p[p > 0] / p.sum()
    return math.exp(float(-(p * p.log()).sum()))


def reconstruction_errors(prediction: Tensor, target: Tensor) -> dict[str, float]:
    """MAE, MSE and relative MAE (MAE / mean absolute deviation of the target per dimension).

    Tensors are [B, T, D] in the same units; the deviation is taken over batch and time per dimension,
    so relative MAE 1.0 is what predicting each dimension's mean would score.
    """
    if prediction.shape != target.shape:
        raise ValueError(f"reconstruction_errors: prediction {tuple(prediction.shape)} vs target {tuple(target.shape)}")
    err = prediction - target
    flat = target.reshape(-1, target.shape[-1])
    mad = (flat - flat.mean(0)).abs().mean()
    mae = err.abs().mean().item()
    return {"mae": mae, "mse": err.pow(2).mean().item(), "relative_mae": mae / max(mad.item(), 1e-12)}


def artifact_entropy(
    encode: Callable[[Tensor], Tensor],
    actions: Tensor,
    noise_std: Tensor | float,
    num_samples: int = 16,
    seed: int = 0,
) -> float:
    """H(C|A) of appendix D, in bits per token position.

    Each chunk [T, D] gets `num_samples` draws of Gaussian noise (std `noise_std`, in the units of
    `actions`, broadcast over D); the empirical entropy of the tokens at each position is averaged over
    positions and chunks. 0 means the tokens never change under that noise.
    """
    if num_samples < 2:
        raise ValueError(f"artifact_entropy num_samples={num_samples}: expected >= 2")
    generator = torch.Generator(device="cpu").manual_seed(seed)
    batch = actions.shape[0]
    repeated = actions.repeat_interleave(num_samples, dim=0)
    noise = torch.randn(repeated.shape, generator=generator).to(actions) * torch.as_tensor(noise_std).to(actions)
    tokens = encode(repeated + noise).reshape(batch, num_samples, -1)
    entropies = []
    for chunk_tokens in tokens:
        for position in chunk_tokens.T:
            _, counts = position.unique(return_counts=True)
            p = counts.float() / counts.sum()
            entropies.append(float(-(p * p.log2()).sum()))
    return sum(entropies) / len(entropies)
