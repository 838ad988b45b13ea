"""actioncodec-bench: measure action tokenizers side by side on a local LeRobotDataset.

Tokenizers are listed with --tokenizers: heuristic ones are fitted on the spot on the benchmark's chunks
(`binning`, `binning:bins=1000`, `fast`, `fast:vocab_size=2048,scale=10`), learned ones are saved
directories (an `actioncodec_tokenizer` lerobot-train checkpoint, or any saved action tokenizer). All are
scored on the same adjacent chunk pairs. Writes a markdown table to stdout, bench.json and bench.png.
--save-dir also saves every tokenizer fitted on the spot, ready for `--policy.tokenizer_path`.

--dataset.eval_split F holds out episodes exactly as `lerobot-train --dataset.eval_split=F` does (the last
ceil(n x F) episodes of each task): tokenizers fitted here fit on the training episodes only, every tokenizer is
scored on the held-out ones, and the table's `fitted on` column says what each saw, read from a checkpoint's
train_config.json (train it with the same --dataset.eval_split).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from ..benchmark import FITTED, bench_tokenizer, make_tokenizer, markdown_table
from ..evaluation import benchmark_chunks, load_episode_actions
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


def spec_directory(spec: str) -> Path | None:
    """The saved directory a spec names (`<dir>` or `<dir>:levels=N`); None for a spec fitted here."""
    if spec.partition(":")[0] in FITTED:
        return None
    path = Path(spec.rpartition(":")[0]) if ":" in spec and not Path(spec).is_dir() else Path(spec)
    return path if path.is_dir() else None


def fitted_on(directory: Path | None, repo_id: str, eval_split: float, heldout: list[int]) -> tuple[str, bool]:
    """What the table says a tokenizer was fitted on, and whether that includes the scored (held-out) episodes."""
    if directory is None:
        return ("train episodes" if eval_split else "all episodes"), False
    train_config = directory / "train_config.json"
    if not train_config.is_file():
        return "unknown (no train_config.json)", bool(eval_split)
    dataset = json.loads(train_config.read_text()).get("dataset", {})
    if dataset.get("repo_id") != repo_id:
        return f"other dataset ({dataset.get('repo_id')})", False
    if dataset.get("episodes") is not None:
        seen = set(dataset["episodes"]) & set(heldout)
        return (f"episodes {dataset['episodes']}", bool(seen)) if eval_split else ("some episodes", False)
    trained_split = float(dataset.get("eval_split") or 0.0)
    if not eval_split:
        return ("all episodes" if not trained_split else f"eval_split={trained_split:g} train episodes"), False
    if abs(trained_split - eval_split) < 1e-9:
        return "train episodes", False
    return f"eval_split={trained_split:g} (sees held-out episodes)", True


def saved_name(spec: str) -> str:
    """A directory name for a fitted spec: `fast:vocab_size=2048` -> `fast_vocab_size_2048`."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", spec).strip("_")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset.repo_id", dest="repo_id", required=True)
    parser.add_argument("--dataset.root", dest="root", required=True)
    parser.add_argument("--tokenizers", required=True, help="comma-separated specs; ';' separates when specs hold ','")
    parser.add_argument("--dataset.eval_split", dest="eval_split", type=float, default=0.0,
                        help="hold out the last share of each task's episodes, as lerobot-train does")  # fmt: skip
    parser.add_argument("--chunk-seconds", type=float, default=None)
    parser.add_argument("--max-chunks", type=int, default=2000, help="adjacent chunk pairs, sampled evenly")
    parser.add_argument("--noise-fraction", type=float, default=0.02, help="artifact-entropy noise, x action std")
    parser.add_argument("--output-dir", type=Path, default=Path("outputs/bench"))
    parser.add_argument("--save-dir", type=Path, default=None, help="save the tokenizers fitted here, one folder each")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    specs = [s.strip() for s in args.tokenizers.split(";" if ";" in args.tokenizers else ",") if s.strip()]
    data = load_episode_actions(args.repo_id, args.root)
    fps = data.fps
    chunk_length = chunk_length_for(specs, fps, args.chunk_seconds)
    split = benchmark_chunks(data, args.eval_split, chunk_length, args.max_chunks)
    chunks, next_chunks, fit_chunks, train, heldout = (split.chunks, split.next_chunks, split.fit_chunks,
                                                       split.train, split.heldout)  # fmt: skip
    results = []
    for spec in tqdm(specs, desc="tokenizers"):
        name, tokenizer = make_tokenizer(spec, fit_chunks)
        seen_as, saw_heldout = fitted_on(spec_directory(spec), args.repo_id, args.eval_split, heldout)
        if saw_heldout:
            print(f"warning: {name} was trained on episodes the benchmark scores ({seen_as}); train it with "
                  f"--dataset.eval_split={args.eval_split:g}", file=sys.stderr)  # fmt: skip
        if (tokenizer.chunk_length, tokenizer.action_dim) != tuple(chunks.shape[1:]):
            raise ValueError(
                f"tokenizer {name}: chunks of {tokenizer.chunk_length} x {tokenizer.action_dim}, but the benchmark's "
                f"are {chunks.shape[1]} x {chunks.shape[2]}; expected equal (set --chunk-seconds)"
            )
        results.append(bench_tokenizer(name, tokenizer, chunks, next_chunks, args.noise_fraction, fitted_on=seen_as))
        if args.save_dir is not None and spec.partition(":")[0] in FITTED:
            tokenizer.save_pretrained(args.save_dir / saved_name(spec))

    print(f"{len(chunks)} chunk pairs of {chunk_length} steps x {chunks.shape[2]} dims at {fps:g} fps")
    if args.eval_split:
        print(
            f"scored on {len(heldout)} held-out episodes of {len(data.actions)} (--dataset.eval_split="
            f"{args.eval_split:g}: the last share of each task's episodes); fitted here on the {len(train)} others"
        )
    else:
        print(f"fitted and scored on all {len(data.actions)} episodes (--dataset.eval_split holds some out)")
    print(markdown_table(results))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    summary = {"chunk_pairs": len(chunks), "chunk_length": chunk_length, "fps": fps, "eval_split": args.eval_split,
               "train_episodes": train, "heldout_episodes": heldout}  # fmt: skip
    summary["tokenizers"] = {r.name: {**r.metrics, "fitted_on": r.fitted_on, "collapsed": r.collapsed}
                             for r in results}  # fmt: skip
    (args.output_dir / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_benchmark(chunks, {r.name: r.reconstruction for r in results}, summary["tokenizers"],
                   args.output_dir / "bench.png", fps)  # fmt: skip


if __name__ == "__main__":
    main()
