"""actioncodec-bench: measure action tokenizers side by side on a local LeRobotDataset.

Tokenizers are listed with --tokenizers: heuristic ones are fitted on the spot on the benchmark's chunks
(`binning`, `binning:bins=1000`, `fast`, `fast:vocab_size=2048,scale=10`), learned ones are saved
directories (an `actioncodec_tokenizer` lerobot-train checkpoint, or any saved action tokenizer). All are
scored on the same adjacent chunk pairs. Writes a markdown table to stdout, bench.json and bench.png.
--save-dir also saves every tokenizer fitted on the spot, ready for `--policy.tokenizer_path`.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch
from tqdm import tqdm

from ..benchmark import FITTED, bench_tokenizer, make_tokenizer, markdown_table
from ..evaluation import adjacent_chunk_pairs, load_episode_actions
from ..report import plot_benchmark
from ..tokenizers.registry import load_action_tokenizer


def chunk_length_for(specs: list[str], fps: float, chunk_seconds: float | None) -> int:
    """--chunk-seconds if given, else the first saved tokenizer's own chunk, else 1 s (the paper's)."""
    if chunk_seconds is not None:
        return max(1, round(chunk_seconds * fps))
    for spec in specs:
        if Path(spec).is_dir():
            return load_action_tokenizer(spec).chunk_length
    return max(1, round(fps))


def saved_name(spec: str) -> str:
    """A directory name for a fitted spec: `fast:vocab_size=2048` -> `fast_vocab_size_2048`."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", spec).strip("_")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset.repo_id", dest="repo_id", required=True)
    parser.add_argument("--dataset.root", dest="root", required=True)
    parser.add_argument("--tokenizers", required=True, help="comma-separated specs; ';' separates when specs hold ','")
    parser.add_argument("--chunk-seconds", type=float, default=None)
    parser.add_argument("--max-chunks", type=int, default=2000, help="adjacent chunk pairs, sampled evenly")
    parser.add_argument("--noise-fraction", type=float, default=0.02, help="artifact-entropy noise, x action std")
    parser.add_argument("--output-dir", type=Path, default=Path("outputs/bench"))
    parser.add_argument("--save-dir", type=Path, default=None, help="save the tokenizers fitted here, one folder each")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    specs = [s.strip() for s in args.tokenizers.split(";" if ";" in args.tokenizers else ",") if s.strip()]
    episodes, fps = load_episode_actions(args.repo_id, args.root)
    chunk_length = chunk_length_for(specs, fps, args.chunk_seconds)
    chunks, next_chunks = adjacent_chunk_pairs(episodes, chunk_length, max_pairs=args.max_chunks)
    results = []
    for spec in tqdm(specs, desc="tokenizers"):
        name, tokenizer = make_tokenizer(spec, chunks)
        if (tokenizer.chunk_length, tokenizer.action_dim) != tuple(chunks.shape[1:]):
            raise ValueError(
                f"tokenizer {name}: chunks of {tokenizer.chunk_length} x {tokenizer.action_dim}, but the benchmark's "
                f"are {chunks.shape[1]} x {chunks.shape[2]}; expected equal (set --chunk-seconds)"
            )
        results.append(bench_tokenizer(name, tokenizer, chunks, next_chunks, args.noise_fraction))
        if args.save_dir is not None and spec.partition(":")[0] in FITTED:
            tokenizer.save_pretrained(args.save_dir / saved_name(spec))

    print(f"{len(chunks)} chunk pairs of {chunk_length} steps x {chunks.shape[2]} dims at {fps:g} fps")
    print(markdown_table(results))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    summary = {"chunk_pairs": len(chunks), "chunk_length": chunk_length, "fps": fps}
    summary["tokenizers"] = {r.name: r.metrics for r in results}
    (args.output_dir / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_benchmark(chunks, {r.name: r.reconstruction for r in results}, summary["tokenizers"],
                   args.output_dir / "bench.png", fps)  # fmt: skip


if __name__ == "__main__":
    main()
