"""`fast`: FAST (Pertsch et al., 2025): a DCT per dimension, scaled and rounded, then byte-pair encoding.

Encoding: each dimension is mapped from its 1st..99th percentiles to [-1, 1]; a DCT-II (orthonormal) runs
along time; coefficients are multiplied by `scale` and rounded; the [T, D] integer matrix is flattened low
frequencies first (all dimensions' first coefficient, then the second, ...) and written as one character per
integer; a BPE trained with the `tokenizers` library on the dataset's chunks merges frequent runs (most
high-frequency coefficients are zero). The number of tokens per chunk varies.

Decoding uses the ActionCodec paper's soft decoding: the integer stream is zero-padded or truncated to T x D
so an autoregressive model's malformed output still decodes, and the row is flagged as repaired. Integers
beyond the fitted alphabet are clamped to it at encoding; `last_clipped_fraction` measures how often.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.fft import dct, idct
from tokenizers import Tokenizer, decoders, models, trainers
from torch import Tensor

from .interface import DecodedChunks, TokenSequences, check_chunks, percentile_range, read_config, write_config

BPE_FILE = "fast_bpe.json"
FIRST_CHAR = 0x100  # integers become characters from here on, clear of ASCII


class FastTokenizer:
    kind = "fast"

    def __init__(
        self,
        bpe: Tokenizer,
        low: Tensor,
        high: Tensor,
        chunk_length: int,
        scale: float,
        max_abs: int,
        longest_fit_sequence: int | None = None,
    ):
        self.bpe, self.scale, self.max_abs = bpe, scale, max_abs
        # The most tokens any fitting chunk took: what a policy head's budget is sized from.
        self.longest_fit_sequence = longest_fit_sequence
        self.low, self.high = low.float(), torch.maximum(high.float(), low.float() + 1e-6)
        self.chunk_length, self.action_dim = chunk_length, len(low)
        self.last_clipped_fraction = 0.0

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls, chunks: Tensor, scale: float = 10.0, vocab_size: int = 1024, quantiles: tuple[float, float] = (0.01, 0.99)
    ) -> FastTokenizer:
        """Normalization from the chunks [N, T, D]; the alphabet covers twice their largest coefficient; the
        BPE learns merges on their coefficient strings."""
        if scale <= 0:
            raise ValueError(f"scale={scale}: expected > 0")
        low, high = percentile_range(chunks, quantiles)
        probe = cls(Tokenizer(models.BPE()), low, high, chunks.shape[1], scale, max_abs=1)
        coefficients = probe._coefficients(chunks)
        max_abs = max(1, 2 * int(np.abs(coefficients).max()))
        alphabet = [chr(FIRST_CHAR + i) for i in range(2 * max_abs + 1)]
        if vocab_size < len(alphabet):
            raise ValueError(f"vocab_size={vocab_size}: expected >= the {len(alphabet)} single-coefficient symbols")
        bpe = Tokenizer(models.BPE())
        bpe.decoder = decoders.Fuse()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=alphabet, show_progress=False)
        tokenizer = cls(bpe, low, high, chunks.shape[1], scale, max_abs)
        bpe.train_from_iterator(tokenizer._strings(coefficients), trainer)
        tokenizer.longest_fit_sequence = int(tokenizer.encode(chunks).lengths.max())
        return tokenizer

    # ------------------------------------------------------------ the stream
    def _coefficients(self, actions: Tensor) -> np.ndarray:
        """[B, T, D] raw -> [B, T * D] rounded, scaled DCT coefficients, low frequencies first."""
        unit = 2 * (actions.float() - self.low) / (self.high - self.low) - 1
        coefficients = dct(unit.cpu().numpy(), type=2, norm="ortho", axis=1)
        return np.rint(coefficients * self.scale).astype(np.int64).reshape(len(actions), -1)

    def _strings(self, coefficients: np.ndarray) -> list[str]:
        clipped = np.clip(coefficients, -self.max_abs, self.max_abs)
        return ["".join(map(chr, row)) for row in (clipped + self.max_abs + FIRST_CHAR).tolist()]

    def _actions(self, coefficients: np.ndarray) -> Tensor:
        """[B, T * D] integers -> raw chunks [B, T, D]."""
        grid = coefficients.reshape(-1, self.chunk_length, self.action_dim) / self.scale
        unit = torch.from_numpy(idct(grid, type=2, norm="ortho", axis=1)).float()
        return (unit + 1) / 2 * (self.high - self.low) + self.low

    # -------------------------------------------------------------- interface
    @property
    def vocab_size(self) -> int:
        return self.bpe.get_vocab_size()

    @property
    def fixed_length(self) -> None:
        return None

    @property
    def symbols_per_chunk(self) -> int:
        """Coefficients a well-formed sequence decodes to: T x D."""
        return self.chunk_length * self.action_dim

    def symbol_counts(self) -> list[int]:
        """Coefficients each id stands for (its merged characters): what exact-length decoding counts."""
        return [len(self.bpe.id_to_token(i)) for i in range(self.vocab_size)]

    def encode(self, actions: Tensor) -> TokenSequences:
        check_chunks(actions, self.chunk_length, self.action_dim)
        coefficients = self._coefficients(actions)
        self.last_clipped_fraction = float((np.abs(coefficients) > self.max_abs).mean())
        encoded = self.bpe.encode_batch(self._strings(coefficients), add_special_tokens=False)
        return TokenSequences.from_lists([e.ids for e in encoded])

    def decode(self, tokens: TokenSequences) -> DecodedChunks:
        expected = self.chunk_length * self.action_dim
        vocab = self.vocab_size
        rows, repaired = [], []
        for ids in tokens.to_lists():
            valid = [i for i in ids if 0 <= i < vocab]
            symbols = [ord(c) - FIRST_CHAR - self.max_abs for c in self.bpe.decode(valid, skip_special_tokens=False)]
            rows.append((symbols + [0] * expected)[:expected])  # soft decoding: zero-pad or truncate
            repaired.append(len(valid) != len(ids) or len(symbols) != expected)
        return DecodedChunks(self._actions(np.asarray(rows, dtype=np.float64)), torch.tensor(repaired))

    def save_pretrained(self, path: str | Path) -> None:
        settings = {"chunk_length": self.chunk_length, "scale": self.scale, "max_abs": self.max_abs,
                    "longest_fit_sequence": self.longest_fit_sequence}  # fmt: skip
        directory = write_config(path, self.kind, {**settings, "low": self.low.tolist(), "high": self.high.tolist()})
        self.bpe.save(str(directory / BPE_FILE))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> FastTokenizer:
        config = read_config(path, cls.kind)
        bpe = Tokenizer.from_file(str(Path(path) / BPE_FILE))
        low, high = torch.tensor(config["low"]), torch.tensor(config["high"])
        settings = (config["chunk_length"], config["scale"], config["max_abs"], config.get("longest_fit_sequence"))
        return cls(bpe, low, high, *settings)
