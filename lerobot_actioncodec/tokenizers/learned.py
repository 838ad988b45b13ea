"""What the learned peer tokenizers (vqvla, nac) share: standardization, the fit loop, offset ids, save/load.

Each is a network (`CodecNetwork`) whose quantizer has several levels (residual or multi-scale), each level with
its own codebook and number of positions. Their token ids use the papers' non-overlapping ranges: level i's
codes are offset by i x codebook_size, and a chunk is level 0's positions, then level 1's, and so on. Decoding
repairs what an autoregressive head may get wrong (length, an id from another level's range) and flags it.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from tqdm import tqdm

from .interface import (
    DecodedChunks,
    TokenLevel,
    TokenSequences,
    check_chunks,
    check_level_ids,
    read_config,
    to_grid,
    write_config,
)

WEIGHTS_FILE = "model.safetensors"


class CodecNetwork(Protocol):
    """The network of a learned tokenizer, on standardized chunks [B, T, D]."""

    level_lengths: list[int]  # positions of each quantizer level
    codebook_size: int

    def training_loss(self, normalized: Tensor) -> tuple[Tensor, dict[str, float]]: ...

    def encode_codes(self, normalized: Tensor) -> list[Tensor]:
        """One [B, level_lengths[i]] code tensor per level."""

    def decode_codes(self, codes: list[Tensor]) -> Tensor:
        """Codes of the first k levels (k <= levels): the finer levels count as absent (zero residual)."""


def offset_ids(codes: list[Tensor], codebook_size: int) -> Tensor:
    """Per-level codes -> one id row per chunk, level i's ids offset by i x codebook_size."""
    return torch.cat([level * codebook_size + c for level, c in enumerate(codes)], dim=1)


def split_offset_ids(
    tokens: TokenSequences, level_lengths: list[int], codebook_size: int
) -> tuple[list[Tensor], Tensor]:
    """Id rows -> per-level codes. A wrong length is truncated or padded (with each level's code 0); an id outside
    its level's range is folded into it (id mod codebook_size); both flag the row as repaired."""
    length = sum(level_lengths)
    level = torch.repeat_interleave(torch.arange(len(level_lengths)), torch.tensor(level_lengths))
    grid, _ = to_grid(tokens, length, level * codebook_size)
    in_range = (grid >= 0) & (grid // codebook_size == level)
    repaired = (tokens.lengths != length) | ~in_range.all(1)
    codes = grid.remainder(codebook_size).split(level_lengths, dim=1)
    return list(codes), repaired


class LearnedChunkTokenizer:
    """A trained `CodecNetwork` behind the `ActionTokenizer` interface, with the mean/std it standardizes by."""

    kind: ClassVar[str]
    settings_class: ClassVar[type]
    network_class: ClassVar[type[nn.Module]]

    def __init__(self, settings: Any, mean: Tensor, std: Tensor, model: nn.Module | None = None):
        self.settings = settings
        self.chunk_length, self.action_dim = settings.chunk_length, settings.action_dim
        self.mean, self.std = mean.float(), std.float().clamp_min(1e-6)
        self.model = (model or self.network_class(settings)).eval()

    @classmethod
    def fit(
        cls,
        chunks: Tensor,
        steps: int = 300,
        batch_size: int = 128,
        lr: float = 1e-3,
        seed: int = 0,
        **architecture: Any,
    ) -> LearnedChunkTokenizer:
        """Train on chunks [N, T, D] (raw units) for `steps` AdamW steps of the network's own objective."""
        if chunks.ndim != 3:
            raise ValueError(f"chunks shape={tuple(chunks.shape)}: expected [N, T, D]")
        if steps < 1:
            raise ValueError(f"steps={steps}: expected >= 1")
        torch.manual_seed(seed)
        settings = cls.settings_class(chunks.shape[1], chunks.shape[2], **architecture)
        flat = chunks.reshape(-1, chunks.shape[-1]).float()
        tokenizer = cls(settings, flat.mean(0), flat.std(0))
        tokenizer._train([(tokenizer.normalize(chunks), {})], steps, batch_size, lr, seed)
        return tokenizer

    def _train(
        self, data: list[tuple[Tensor, dict[str, Any]]], steps: int, batch_size: int, lr: float, seed: int
    ) -> None:
        """`steps` AdamW steps of the network's own objective, each on one random batch of every (standardized
        chunks, keyword arguments of `training_loss`) pair of `data`, the losses summed."""
        model = self.model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(seed)
        for _ in tqdm(range(steps), desc=f"{self.kind} fit", leave=False):
            loss = sum(model.training_loss(x[torch.randint(len(x), (batch_size,), generator=generator)], **kwargs)[0]
                       for x, kwargs in data)  # fmt: skip
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()

    def _network_kwargs(self) -> dict[str, Any]:
        """What the network's encode_codes / decode_codes take besides their input (c2c: its mode); none here."""
        return {}

    def normalize(self, actions: Tensor) -> Tensor:
        return (actions.float() - self.mean) / self.std

    @property
    def codebook_size(self) -> int:
        return self.model.codebook_size

    @property
    def vocab_size(self) -> int:
        return len(self.model.level_lengths) * self.codebook_size

    @property
    def fixed_length(self) -> int:
        return sum(self.model.level_lengths)

    @property
    def token_levels(self) -> list[TokenLevel]:
        size = self.codebook_size
        return [TokenLevel(length, level * size, size) for level, length in enumerate(self.model.level_lengths)]

    @torch.no_grad()
    def decode_levels(self, ids: list[Tensor]) -> DecodedChunks:
        levels = self.token_levels
        check_level_ids(ids, levels)
        codes = [level_ids.long().cpu() - level.first_id for level_ids, level in zip(ids, levels)]
        return DecodedChunks.exact(self._decode_codes(codes))

    @torch.no_grad()
    def encode(self, actions: Tensor) -> TokenSequences:
        check_chunks(actions, self.chunk_length, self.action_dim)
        codes = self.model.encode_codes(self.normalize(actions), **self._network_kwargs())
        return TokenSequences.fixed(offset_ids(codes, self.codebook_size))

    @torch.no_grad()
    def decode(self, tokens: TokenSequences) -> DecodedChunks:
        codes, repaired = split_offset_ids(tokens, self.model.level_lengths, self.codebook_size)
        return DecodedChunks(self._decode_codes(codes), repaired)

    def _decode_codes(self, codes: list[Tensor]) -> Tensor:
        """Per-level codes -> chunks in raw units (the network works on standardized ones)."""
        return self.model.decode_codes(codes, **self._network_kwargs()) * self.std + self.mean

    # the statistics save_pretrained writes next to the settings, and from_saved takes back
    statistics_keys: ClassVar[tuple[str, ...]] = ("mean", "std")

    def saved_statistics(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_saved(cls, settings: Any, statistics: dict[str, Tensor], model: nn.Module) -> LearnedChunkTokenizer:
        return cls(settings, statistics["mean"], statistics["std"], model)

    def save_pretrained(self, path: str | Path) -> None:
        directory = write_config(path, self.kind, {**asdict(self.settings), **self.saved_statistics()})
        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(directory / WEIGHTS_FILE))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> LearnedChunkTokenizer:
        config = read_config(path, cls.kind)
        statistics = {k: torch.tensor(config.pop(k)) for k in cls.statistics_keys if k in config}
        config.pop("kind")
        settings = cls.settings_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
        model = cls.network_class(settings)
        model.load_state_dict(load_file(str(Path(path) / WEIGHTS_FILE)))
        return cls.from_saved(settings, statistics, model)
