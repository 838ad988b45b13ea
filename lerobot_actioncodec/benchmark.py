"""Side-by-side measurement of action tokenizers on the same chunks (the paper's Tables 1 and 3 in small).

Every tokenizer goes through the `ActionTokenizer` interface, so heuristic ones fitted on the spot and
trained checkpoints are scored by the same code on the same adjacent chunk pairs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .metrics import (
    artifact_entropy,
    chance_overlap_rate,
    distinct_sequence_share,
    overlap_rate,
    reconstruction_errors,
)
from .tokenizers.binning import BinningTokenizer
from .tokenizers.c2c import C2CTokenizer
from .tokenizers.fast import FastTokenizer
from .tokenizers.interface import PAD_ID, ActionTokenizer, DecodedChunks, TokenSequences
from .tokenizers.nac import NACTokenizer
from .tokenizers.registry import ActionCodecActionTokenizer, load_action_tokenizer
from .tokenizers.vqvla import VQVLATokenizer


def flag(value: str) -> bool:
    """`true` / `false` (any case) -> bool; anything else is an error naming the value."""
    if value.lower() not in ("true", "false"):
        raise ValueError(f"option value {value!r}: expected true or false")
    return value.lower() == "true"


def int_tuple(value: str) -> tuple[int, ...]:
    """`2/2/2/2` -> (2, 2, 2, 2): list options inside a spec, whose ',' already separates options."""
    return tuple(int(v) for v in value.split("/"))


LEARNED_FIT_OPTIONS: dict[str, Callable[[str], Any]] = {"steps": int, "batch_size": int, "lr": float, "seed": int}
# Tokenizers fitted on the benchmark's own chunks (heuristic ones, or small learned ones trained in-process):
# name -> (fit function, the parser of each option it takes from a spec like `fast:vocab_size=2048`).
FITTED: dict[str, tuple[Callable[..., ActionTokenizer], dict[str, Callable[[str], Any]]]] = {
    "binning": (BinningTokenizer.fit, {"bins": int}),
    "fast": (FastTokenizer.fit, {"scale": float, "vocab_size": int}),
    "vqvla": (
        VQVLATokenizer.fit,
        {**LEARNED_FIT_OPTIONS, "channels": int, "latent_dim": int, "downsample_stages": int, "levels": int,
         "codebook_size": int, "whole_chunk": flag, "reconstruction_loss": str, "commitment_weight": float},
    ),
    "nac": (
        NACTokenizer.fit,
        {**LEARNED_FIT_OPTIONS, "channels": int, "ratios": int_tuple, "latent_dim": int, "vq_strides": int_tuple,
         "codebook_size": int, "decoder_dim": int, "convnext_layers": int, "commitment_weight": float,
         "adversarial_weight": float, "feature_matching_weight": float},
    ),
    # Coarse-to-Control's patch RVQ: the execution mode alone here, both modes under actioncodec-bench --plans
    "c2c": (
        C2CTokenizer.fit,
        {**LEARNED_FIT_OPTIONS, "patches": int, "latent_dim": int, "levels": int, "codebook_size": int,
         "hidden": int, "mode_dim": int, "commitment_weight": float},
    ),
}  # fmt: skip


# A tokenizer whose distinct token sequences are fewer than this share of the chunks is flagged as collapsed: its
# overlap rate is high because it tells chunks apart poorly, not because it is consistent (see chance overlap).
COLLAPSED_BELOW = 0.05


@dataclass
class BenchResult:
    name: str
    metrics: dict[str, float]
    reconstruction: Tensor  # [N, T, D] decoded chunks, raw units
    fitted_on: str = "benchmark chunks"  # which episodes the tokenizer was fitted or trained on

    @property
    def collapsed(self) -> bool:
        return self.metrics["distinct_sequences"] < COLLAPSED_BELOW


def fit_options(spec: str) -> dict[str, Any]:
    """The options of a spec fitted here (`fast:vocab_size=2048,scale=10`), parsed by type; unknown ones refused."""
    kind, _, options = spec.partition(":")
    types = FITTED[kind][1]
    settings = {}
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key not in types:
            raise ValueError(f"tokenizer spec {spec!r}: unknown option {key!r}; expected one of {sorted(types)}")
        settings[key] = types[key](value)
    return settings


def make_tokenizer(spec: str, chunks: Tensor) -> tuple[str, ActionTokenizer]:
    """`binning`, `binning:bins=1000`, `fast:vocab_size=2048`, `vqvla:steps=500`, `nac:ratios=2/2` (fitted on
    `chunks`), a saved directory, or an actioncodec checkpoint with options: its RVQ levels and, for a co-trained
    one, the embodiment of the benchmark's data: `<dir>:levels=3`, `<dir>:embodiment=metaworld_sawyer,levels=3`."""
    kind, _, options = spec.partition(":")
    if kind in FITTED:
        return spec, FITTED[kind][0](chunks, **fit_options(spec))
    path, _, suffix = spec.rpartition(":")
    if path and "=" in suffix and Path(path).is_dir():  # an actioncodec checkpoint with options
        options = dict(option.partition("=")[::2] for option in suffix.split(","))
        unknown = set(options) - {"levels", "embodiment"}
        if unknown:
            raise ValueError(f"tokenizer spec {spec!r}: unknown option {sorted(unknown)[0]!r}; a checkpoint takes "
                             "'levels' and 'embodiment'")  # fmt: skip
        tokenizer = ActionCodecActionTokenizer.from_checkpoint(
            path, options.get("embodiment"), levels=int(options.get("levels", 1))
        )
        return f"actioncodec {suffix} ({path})", tokenizer
    tokenizer = load_action_tokenizer(spec)
    return f"{tokenizer.kind} ({spec})", tokenizer


def _concat(parts: list[TokenSequences]) -> TokenSequences:
    """Padded id tensors of several batches as one, padded to the longest row of all."""
    longest = max(p.ids.shape[1] for p in parts)
    ids = torch.cat([F.pad(p.ids, (0, longest - p.ids.shape[1]), value=PAD_ID) for p in parts])
    return TokenSequences(ids, torch.cat([p.lengths for p in parts]))


def encode_all(tokenizer: ActionTokenizer, chunks: Tensor, batch_size: int = 256) -> TokenSequences:
    return _concat([tokenizer.encode(chunks[i : i + batch_size]) for i in range(0, len(chunks), batch_size)])


def decode_all(tokenizer: ActionTokenizer, tokens: TokenSequences, batch_size: int = 256) -> DecodedChunks:
    parts = [
        tokenizer.decode(TokenSequences(tokens.ids[i : i + batch_size], tokens.lengths[i : i + batch_size]))
        for i in range(0, len(tokens.ids), batch_size)
    ]
    return DecodedChunks(torch.cat([p.actions for p in parts]), torch.cat([p.repaired for p in parts]))


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Mean seconds per call after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def milliseconds_per_chunk(fn: Callable[[], Any], chunks: int, repeats: int) -> float:
    return timed(fn, repeats) / chunks * 1e3


def corrupted(tokens: TokenSequences, vocab_size: int, seed: int = 0) -> TokenSequences:
    """Each sequence with one token replaced by a random id: a single sampling error of a policy."""
    generator = torch.Generator().manual_seed(seed)
    rows = tokens.to_lists()
    for row in rows:
        if row:
            position = int(torch.randint(len(row), (1,), generator=generator))
            row[position] = int(torch.randint(vocab_size, (1,), generator=generator))
    return TokenSequences.from_lists(rows)


def bench_tokenizer(
    name: str,
    tokenizer: ActionTokenizer,
    chunks: Tensor,
    next_chunks: Tensor,
    noise_fraction: float = 0.02,
    entropy_chunks: int = 64,
    timing_repeats: int = 3,
    fitted_on: str = "benchmark chunks",
) -> BenchResult:
    """Every metric of the benchmark for one tokenizer on the chunk pairs [N, T, D]."""
    tokens, next_tokens = encode_all(tokenizer, chunks), encode_all(tokenizer, next_chunks)
    decoded = decode_all(tokenizer, tokens)
    rows, lengths = tokens.to_lists(), tokens.lengths.float()
    used = tokens.ids[tokens.ids >= 0].unique()
    noise_std = chunks.reshape(-1, chunks.shape[-1]).std(0) * noise_fraction
    metrics: dict[str, float] = {
        "tokens_mean": float(lengths.mean()),
        "tokens_std": float(lengths.std()) if len(lengths) > 1 else 0.0,
        "vocab_size": float(tokenizer.vocab_size),
        "bits_per_chunk": float(lengths.mean()) * math.log2(tokenizer.vocab_size),
        "overlap_rate": overlap_rate(rows, next_tokens.to_lists()),
        "chance_overlap_rate": chance_overlap_rate(rows),
        "distinct_sequences": distinct_sequence_share(rows),
        **{f"reconstruction_{k}": v for k, v in reconstruction_errors(decoded.actions, chunks).items()},
        "codebook_usage": len(used) / tokenizer.vocab_size,
        "artifact_entropy_bits": artifact_entropy(
            lambda x: tokenizer.encode(x).ids, chunks[:entropy_chunks], noise_std
        ),
        "repaired_share_clean": float(decoded.repaired.float().mean()),
        "repaired_share_one_error": float(
            decode_all(tokenizer, corrupted(tokens, tokenizer.vocab_size)).repaired.float().mean()
        ),
    }
    for batch in (1, 256):
        sample = chunks[:batch]
        sample_tokens = tokenizer.encode(sample)
        metrics[f"encode_ms_batch{batch}"] = milliseconds_per_chunk(
            lambda: tokenizer.encode(sample), len(sample), timing_repeats
        )
        metrics[f"decode_ms_batch{batch}"] = milliseconds_per_chunk(
            lambda: tokenizer.decode(sample_tokens), len(sample), timing_repeats
        )
    return BenchResult(name, metrics, decoded.actions, fitted_on)


TABLE_COLUMNS = (
    ("tokens", lambda m: f"{m['tokens_mean']:.1f} ± {m['tokens_std']:.1f}"),
    ("vocab", lambda m: f"{int(m['vocab_size'])}"),
    ("bits/chunk", lambda m: f"{m['bits_per_chunk']:.0f}"),
    ("overlap rate", lambda m: f"{m['overlap_rate']:.3f}"),
    ("chance overlap", lambda m: f"{m['chance_overlap_rate']:.3f}"),
    ("distinct seqs", lambda m: f"{m['distinct_sequences']:.0%}"),
    ("MAE", lambda m: f"{m['reconstruction_mae']:.4f}"),
    ("MSE", lambda m: f"{m['reconstruction_mse']:.5f}"),
    ("rel. MAE", lambda m: f"{m['reconstruction_relative_mae']:.3f}"),
    ("usage", lambda m: f"{m['codebook_usage']:.0%}"),
    ("artifact H (bits)", lambda m: f"{m['artifact_entropy_bits']:.3f}"),
    ("enc ms b1 / b256", lambda m: f"{m['encode_ms_batch1']:.2f} / {m['encode_ms_batch256']:.3f}"),
    ("dec ms b1 / b256", lambda m: f"{m['decode_ms_batch1']:.2f} / {m['decode_ms_batch256']:.3f}"),
    ("repaired after 1 error", lambda m: f"{m['repaired_share_one_error']:.0%}"),
)


def markdown_table(results: list[BenchResult]) -> str:
    """One row per tokenizer; a collapsed one is marked in its name, and `fitted on` says which episodes it saw."""
    header = "| tokenizer | fitted on | " + " | ".join(title for title, _ in TABLE_COLUMNS) + " |"
    rule = "|---|---|" + "---:|" * len(TABLE_COLUMNS)
    rows = [
        f"| {r.name}{' **(collapsed)**' if r.collapsed else ''} | {r.fitted_on} | "
        + " | ".join(cell(r.metrics) for _, cell in TABLE_COLUMNS)
        + " |"
        for r in results
    ]
    return "\n".join([header, rule, *rows])
