"""`binning`: per-dimension uniform bins between the 1st and 99th percentiles (RT-2 / OpenVLA, VLA-0).

Every step of every dimension becomes one token (T x D per chunk); all dimensions share the `bins` ids.
Values beyond the percentiles fall into the edge bins, which is how these tokenizers work; the share of
such values in the last `encode` call is kept in `last_clipped_fraction` so it is measured, not hidden.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from .interface import (
    DecodedChunks,
    TokenSequences,
    check_chunks,
    fit_to_length,
    percentile_range,
    read_config,
    write_config,
)

DEFAULT_BINS = 256  # OpenVLA; VLA-0 uses 1000


class BinningTokenizer:
    kind = "binning"

    def __init__(self, low: Tensor, high: Tensor, chunk_length: int, bins: int = DEFAULT_BINS):
        if bins < 2:
            raise ValueError(f"bins={bins}: expected >= 2")
        if low.shape != high.shape or low.ndim != 1:
            raise ValueError(f"low/high shapes {tuple(low.shape)}/{tuple(high.shape)}: expected equal [D]")
        self.low, self.high = low.float(), torch.maximum(high.float(), low.float() + 1e-6)
        self.bins, self.chunk_length, self.action_dim = bins, chunk_length, len(low)
        self.last_clipped_fraction = 0.0

    @classmethod
    def fit(cls, chunks: Tensor, bins: int = DEFAULT_BINS, quantiles: tuple[float, float] = (0.01, 0.99)):
        """Bin edges from the 1st/99th percentiles of every dimension over the given chunks [N, T, D]."""
        low, high = percentile_range(chunks, quantiles)
        return cls(low, high, chunks.shape[1], bins)

    @property
    def vocab_size(self) -> int:
        return self.bins

    @property
    def fixed_length(self) -> int:
        return self.chunk_length * self.action_dim

    def encode(self, actions: Tensor) -> TokenSequences:
        check_chunks(actions, self.chunk_length, self.action_dim)
        unit = (actions.float() - self.low) / (self.high - self.low)
        self.last_clipped_fraction = float(((unit < 0) | (unit > 1)).float().mean())
        ids = (unit.clamp(0, 1) * self.bins).long().clamp(max=self.bins - 1)
        return TokenSequences.fixed(ids.reshape(len(actions), -1))

    def decode(self, tokens: TokenSequences) -> DecodedChunks:
        """Bin centres. A row of the wrong length or with ids out of range is repaired (truncated, padded with
        the middle bin, ids clamped) and flagged."""
        ids, repaired = fit_to_length(tokens, self.fixed_length, fill=self.bins // 2, vocab_size=self.bins)
        unit = (ids.float() + 0.5) / self.bins
        actions = self.low + unit.reshape(-1, self.chunk_length, self.action_dim) * (self.high - self.low)
        return DecodedChunks(actions, repaired)

    def save_pretrained(self, path: str | Path) -> None:
        settings = {"bins": self.bins, "chunk_length": self.chunk_length}
        write_config(path, self.kind, {**settings, "low": self.low.tolist(), "high": self.high.tolist()})

    @classmethod
    def from_pretrained(cls, path: str | Path) -> BinningTokenizer:
        config = read_config(path, cls.kind)
        return cls(torch.tensor(config["low"]), torch.tensor(config["high"]), config["chunk_length"], config["bins"])
