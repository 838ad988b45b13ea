"""Score a tokenizer on a LeRobotDataset: adjacent chunk pairs in, a dict of metrics out.

Chunks are taken whole inside episodes (no padding), each paired with the chunk one control step later,
which is what the overlap rate compares. Works with any encode/decode pair in raw units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from .metrics import artifact_entropy, codebook_perplexity, codebook_usage, overlap_rate, reconstruction_errors


def load_episode_actions(repo_id: str, root: str | Path) -> tuple[list[np.ndarray], float]:
    """All actions of a local LeRobotDataset, split by episode, and its fps."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(repo_id, root=root)
    table = dataset.hf_dataset.with_format("numpy")
    actions = np.asarray(table["action"], dtype=np.float32)
    episodes = np.asarray(table["episode_index"])
    bounds = np.flatnonzero(np.diff(episodes)) + 1
    return np.split(actions, bounds), float(dataset.meta.fps)


def adjacent_chunk_pairs(
    episodes: list[np.ndarray], chunk_length: int, shift: int = 1, max_pairs: int | None = None, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """(chunks at t, chunks at t + shift), each [N, chunk_length, D], sampled evenly without padding."""
    starts = [(e, s) for e, ep in enumerate(episodes) for s in range(len(ep) - chunk_length - shift + 1)]
    if not starts:
        raise ValueError(f"no episode is longer than chunk_length + shift = {chunk_length + shift} steps")
    if max_pairs is not None and len(starts) > max_pairs:
        rng = np.random.default_rng(seed)
        starts = [starts[i] for i in sorted(rng.choice(len(starts), size=max_pairs, replace=False))]
    now = np.stack([episodes[e][s : s + chunk_length] for e, s in starts])
    later = np.stack([episodes[e][s + shift : s + shift + chunk_length] for e, s in starts])
    return torch.from_numpy(now), torch.from_numpy(later)


def _batched(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int, desc: str) -> Tensor:
    parts = [fn(x[i : i + batch_size]) for i in tqdm(range(0, len(x), batch_size), desc=desc, leave=False)]
    return torch.cat(parts)


@dataclass
class TokenizedChunks:
    """A tokenizer's outputs on adjacent chunk pairs: what the metrics and the report are computed from."""

    chunks: Tensor  # [N, T, D] raw units
    next_chunks: Tensor  # [N, T, D] the same chunks one control step later
    tokens: Tensor  # [N, n] or [N, levels, n]
    next_tokens: Tensor
    reconstruction: Tensor  # [N, T, D] decode(tokens), raw units


def tokenize_chunks(
    encode: Callable[[Tensor], Tensor],
    decode: Callable[[Tensor], Tensor],
    chunks: Tensor,
    next_chunks: Tensor,
    batch_size: int = 256,
) -> TokenizedChunks:
    """Encode both chunk sets and decode the first, in batches."""
    tokens = _batched(encode, chunks, batch_size, "encode")
    next_tokens = _batched(encode, next_chunks, batch_size, "encode t+1")
    reconstruction = _batched(decode, tokens, batch_size, "decode")
    return TokenizedChunks(chunks, next_chunks, tokens, next_tokens, reconstruction)


def score_tokenized(
    tokenized: TokenizedChunks,
    encode: Callable[[Tensor], Tensor],
    codebook_size: int,
    noise_fraction: float = 0.02,
    entropy_chunks: int = 64,
) -> dict[str, float]:
    """Reconstruction (raw units), overlap rate, codebook usage and artifact entropy of a tokenizer.

    Artifact entropy uses Gaussian noise of std `noise_fraction` x each dimension's std over the chunks.
    """
    chunks, tokens, next_tokens = tokenized.chunks, tokenized.tokens, tokenized.next_tokens
    noise_std = chunks.reshape(-1, chunks.shape[-1]).std(0) * noise_fraction
    result = {f"reconstruction_{k}": v for k, v in reconstruction_errors(tokenized.reconstruction, chunks).items()}
    level0, level0_next = (tokens[:, 0], next_tokens[:, 0]) if tokens.ndim == 3 else (tokens, next_tokens)
    result.update(
        {
            "num_chunks": float(len(chunks)),
            "overlap_rate": overlap_rate(level0, level0_next),
            "codebook_usage": codebook_usage(tokens, codebook_size),
            "codebook_perplexity": codebook_perplexity(tokens, codebook_size),
            "artifact_entropy_bits": artifact_entropy(encode, chunks[:entropy_chunks], noise_std),
        }
    )
    if tokens.ndim == 3:
        result["overlap_rate_all_levels"] = overlap_rate(tokens, next_tokens)
    return result


def evaluate_tokenizer(
    encode: Callable[[Tensor], Tensor],
    decode: Callable[[Tensor], Tensor],
    codebook_size: int,
    chunks: Tensor,
    next_chunks: Tensor,
    batch_size: int = 256,
    noise_fraction: float = 0.02,
    entropy_chunks: int = 64,
) -> dict[str, float]:
    """tokenize_chunks then score_tokenized: the metrics of any encode/decode pair in raw units."""
    tokenized = tokenize_chunks(encode, decode, chunks, next_chunks, batch_size)
    return score_tokenized(tokenized, encode, codebook_size, noise_fraction, entropy_chunks)
