"""Score a tokenizer on a LeRobotDataset: adjacent chunk pairs in, a dict of metrics out.

Chunks are taken whole inside episodes (no padding), each paired with the chunk one control step later,
which is what the overlap rate compares. Works with any encode/decode pair in raw units.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from .coarse_plan import PlanSettings, plan_statistics
from .metrics import artifact_entropy, codebook_perplexity, codebook_usage, overlap_rate, reconstruction_errors


@dataclass
class EpisodeActions:
    """A local LeRobotDataset's actions, one array [steps, D] per episode (index order), each episode's task."""

    actions: list[np.ndarray]
    tasks: list[str]
    fps: float
    embodiments: list[int] | None = None  # each episode's embodiment index (a merged dataset's column)

    def select(self, episodes: list[int]) -> list[np.ndarray]:
        return [self.actions[e] for e in episodes]

    def of_embodiment(self, index: int) -> list[np.ndarray]:
        """The episodes of embodiment `index` of a merged dataset."""
        if self.embodiments is None:
            raise ValueError("these episodes were read without an embodiment column")
        return [a for a, e in zip(self.actions, self.embodiments, strict=True) if e == index]


def load_episode_actions(repo_id: str, root: str | Path, embodiment_column: str | None = None) -> EpisodeActions:
    """All actions of a local LeRobotDataset, split by episode, with each episode's (first) task and the fps; with
    `embodiment_column` (a merged dataset's, actioncodec-merge-datasets), each episode's embodiment index."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(repo_id, root=root)
    table = dataset.hf_dataset.with_format("numpy")
    episodes = np.asarray(table["episode_index"])
    order = np.argsort(episodes, kind="stable")
    actions, episodes = np.asarray(table["action"], dtype=np.float32)[order], episodes[order]
    bounds = np.flatnonzero(np.diff(episodes)) + 1
    tasks = [(t[0] if len(t) else "") for t in dataset.meta.episodes["tasks"]]
    embodiments = None
    if embodiment_column is not None:
        if embodiment_column not in table.column_names:
            raise ValueError(f"embodiment_column={embodiment_column!r}: {root} has no such column; expected a "
                             "dataset written by actioncodec-merge-datasets")  # fmt: skip
        owners = np.asarray(table[embodiment_column]).reshape(len(episodes), -1)[order, 0]
        embodiments = [int(owners[start]) for start in np.concatenate([[0], bounds])]
    return EpisodeActions(np.split(actions, bounds), [str(t) for t in tasks], float(dataset.meta.fps), embodiments)


def episode_plan_statistics(episodes: list[np.ndarray], settings: PlanSettings, action_dim: int) -> dict:
    """The statistics of the coarse plans of every window of `episodes` (their first `action_dim` action
    dimensions; a merged dataset pads narrower robots): what a tokenizer's plan mode is normalized with."""
    return plan_statistics([torch.from_numpy(e[:, :action_dim]) for e in episodes], *settings)


def eval_split_episodes(tasks: list[str], eval_split: float) -> tuple[list[int], list[int]]:
    """(train, held-out) episode indices exactly as `lerobot-train --dataset.eval_split` splits them
    (lerobot.datasets.factory.make_train_eval_datasets): the last ceil(n x eval_split) episodes of each task are
    held out. So a tokenizer trained with that flag never saw the episodes a benchmark with the same value scores."""
    if not 0.0 < eval_split < 1.0:
        raise ValueError(f"eval_split={eval_split}: expected in (0, 1), like --dataset.eval_split")
    by_task: dict[str, list[int]] = {}
    for episode, task in enumerate(tasks):
        by_task.setdefault(task, []).append(episode)
    train, heldout = [], []
    for episodes in by_task.values():
        held = math.ceil(len(episodes) * eval_split)
        train += episodes[: len(episodes) - held]
        heldout += episodes[len(episodes) - held :]
    if not train:
        raise ValueError(f"eval_split={eval_split} leaves no training episode of {len(tasks)}; expected less")
    return sorted(train), sorted(heldout)


@dataclass
class BenchmarkChunks:
    """The pairs a benchmark scores (held-out episodes under an eval split) and the chunks it fits on."""

    chunks: Tensor  # [N, T, D] chunks at t
    next_chunks: Tensor  # [N, T, D] chunks at t + 1
    fit_chunks: Tensor  # chunks of the training episodes (all episodes without a split)
    train: list[int]
    heldout: list[int]


def benchmark_chunks(data: EpisodeActions, eval_split: float, chunk_length: int, max_pairs: int) -> BenchmarkChunks:
    """Adjacent chunk pairs of the held-out episodes (`eval_split` as lerobot-train's; 0: every episode is scored
    and fitted on)."""
    everything = list(range(len(data.actions)))
    train, heldout = eval_split_episodes(data.tasks, eval_split) if eval_split else (everything, everything)
    chunks, next_chunks = adjacent_chunk_pairs(data.select(heldout), chunk_length, max_pairs=max_pairs)
    fit_chunks = chunks
    if eval_split:
        fit_chunks, _ = adjacent_chunk_pairs(data.select(train), chunk_length, max_pairs=max_pairs)
    return BenchmarkChunks(chunks, next_chunks, fit_chunks, train, heldout)


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
