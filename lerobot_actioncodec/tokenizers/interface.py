"""One interface for every action tokenizer of the package, so benchmarks and policies can swap them.

A tokenizer turns raw action chunks [B, T, D] (dataset units) into token id sequences and back. Sequences
are returned padded in a `TokenSequences` (ids + lengths) because some tokenizers (FAST) emit a variable
number of tokens per chunk. Decoding never raises on a malformed sequence: it repairs what it can (e.g. pads
or truncates to the expected length) and says which rows needed it, so a control loop can count them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch
from torch import Tensor

CONFIG_FILE = "action_tokenizer.json"
PAD_ID = -1


@dataclass
class TokenSequences:
    """Token ids [B, L_max] padded with PAD_ID after each row's length, and the lengths [B]."""

    ids: Tensor
    lengths: Tensor

    @classmethod
    def from_lists(cls, rows: list[list[int]]) -> TokenSequences:
        longest = max((len(r) for r in rows), default=0)
        ids = torch.full((len(rows), longest), PAD_ID, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        return cls(ids, torch.tensor([len(r) for r in rows], dtype=torch.long))

    @classmethod
    def fixed(cls, ids: Tensor) -> TokenSequences:
        return cls(ids.long(), torch.full((len(ids),), ids.shape[1], dtype=torch.long))

    def to_lists(self) -> list[list[int]]:
        return [row[:length].tolist() for row, length in zip(self.ids, self.lengths.tolist(), strict=True)]


@dataclass
class DecodedChunks:
    """Raw-unit chunks [B, T, D] and, per row, whether the sequence was malformed and had to be repaired."""

    actions: Tensor
    repaired: Tensor  # bool [B]

    @classmethod
    def exact(cls, actions: Tensor) -> DecodedChunks:
        """Chunks decoded from well-formed ids: no row repaired."""
        return cls(actions, torch.zeros(len(actions), dtype=torch.bool))


@runtime_checkable
class ActionTokenizer(Protocol):
    kind: str  # the registry name: "binning", "fast", "vqvla", "nac", "c2c", "actioncodec"
    chunk_length: int  # T
    action_dim: int  # D

    @property
    def vocab_size(self) -> int: ...

    @property
    def fixed_length(self) -> int | None:
        """Tokens per chunk when every chunk gets the same number; None when it varies (FAST)."""

    def encode(self, actions: Tensor) -> TokenSequences: ...

    def decode(self, tokens: TokenSequences) -> DecodedChunks: ...

    def save_pretrained(self, path: str | Path) -> None: ...


class TokenLevel(NamedTuple):
    """One quantizer level of a residual tokenizer: its positions, and its ids first_id .. first_id + num_codes - 1."""

    length: int
    first_id: int
    num_codes: int


@runtime_checkable
class ResidualActionTokenizer(ActionTokenizer, Protocol):
    """A tokenizer whose sequence is several quantizer levels, coarse to fine (ActionCodec's RVQ form, VQ-VLA, NAC):
    what block-wise autoregression predicts level by level."""

    @property
    def token_levels(self) -> list[TokenLevel]:
        """The levels in sequence order; a sequence is level 0's ids, then level 1's, and so on."""

    def decode_levels(self, ids: list[Tensor]) -> DecodedChunks:
        """The ids of the first k levels, one [B, length] tensor each (k <= levels, each in its level's range):
        a chunk from the coarser levels alone, as residual quantization allows."""


def check_level_ids(ids: list[Tensor], levels: list[TokenLevel]) -> None:
    """A clear error unless `ids` are the first k levels' ids, each [B, length] within its level's range."""
    if not 1 <= len(ids) <= len(levels):
        raise ValueError(f"ids: {len(ids)} levels given; expected 1..{len(levels)}")
    for index, (level_ids, level) in enumerate(zip(ids, levels)):
        if level_ids.ndim != 2 or level_ids.shape[1] != level.length:
            raise ValueError(f"ids[{index}] shape={tuple(level_ids.shape)}: expected [B, {level.length}]")
        if level_ids.numel() and not (
            level.first_id <= int(level_ids.min()) and int(level_ids.max()) < level.first_id + level.num_codes
        ):
            raise ValueError(
                f"ids[{index}] range [{int(level_ids.min())}, {int(level_ids.max())}]: expected ids in "
                f"[{level.first_id}, {level.first_id + level.num_codes - 1}] (level {index})"
            )


def check_chunks(actions: Tensor, chunk_length: int, action_dim: int, name: str = "actions") -> Tensor:
    """A clear error for anything but finite float chunks [B, chunk_length, action_dim]."""
    if not isinstance(actions, Tensor) or not actions.is_floating_point():
        raise ValueError(f"{name}: expected a float tensor [B, T, D], got {type(actions).__name__}")
    if actions.ndim != 3 or actions.shape[1:] != (chunk_length, action_dim):
        raise ValueError(f"{name} shape={tuple(actions.shape)}: expected [B, {chunk_length}, {action_dim}]")
    if not torch.isfinite(actions).all():
        raise ValueError(f"{name}: non-finite value (NaN or inf); expected finite numbers")
    return actions


def percentile_range(chunks: Tensor, quantiles: tuple[float, float] = (0.01, 0.99)) -> tuple[Tensor, Tensor]:
    """Per-dimension low/high percentiles of chunks [N, T, D]: the range binning and FAST map to their grids."""
    if chunks.ndim != 3:
        raise ValueError(f"chunks shape={tuple(chunks.shape)}: expected [N, T, D]")
    low, high = torch.quantile(chunks.reshape(-1, chunks.shape[-1]).float(), torch.tensor(quantiles), dim=0)
    return low, high


def to_grid(tokens: TokenSequences, length: int, fill: int | Tensor) -> tuple[Tensor, Tensor]:
    """Rows truncated or padded to `length`: ids [B, length] with `fill` (an id, or one per position [length])
    after each row's own length, and where the row had ids of its own [B, length]."""
    ids = tokens.ids
    grid = torch.zeros(len(ids), length, dtype=torch.long)
    width = min(length, ids.shape[1])
    grid[:, :width] = ids[:, :width]
    present = torch.arange(length) < tokens.lengths[:, None]
    return torch.where(present, grid, fill), present


def fit_to_length(tokens: TokenSequences, length: int, fill: int, vocab_size: int) -> tuple[Tensor, Tensor]:
    """The paper's soft decoding for fixed-size decoders: rows truncated or padded with `fill` to `length`
    and ids clamped into the vocabulary. Returns the ids [B, length] and which rows needed any of it [B]."""
    grid, present = to_grid(tokens, length, fill)
    out_of_range = ((grid < 0) | (grid >= vocab_size)) & present
    repaired = (tokens.lengths != length) | out_of_range.any(1)
    return grid.clamp(0, vocab_size - 1), repaired


def write_config(path: str | Path, kind: str, settings: dict[str, Any]) -> Path:
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps({"kind": kind, **settings}, indent=2) + "\n")
    return directory


def read_config(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    file = Path(path) / CONFIG_FILE
    if not file.is_file():
        raise ValueError(f"path={str(path)!r}: no {CONFIG_FILE}; expected a saved action tokenizer directory")
    config = json.loads(file.read_text())
    if kind is not None and config.get("kind") != kind:
        raise ValueError(f"{file} holds kind={config.get('kind')!r}; expected {kind!r}")
    return config
