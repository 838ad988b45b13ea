"""actioncodec-learning-curves: held-out overlap rate, reconstruction and codebook usage against training steps.

Scores every checkpoint a lerobot-train run saved (`<run>/checkpoints/<step>/pretrained_model`, so train with a
--save_freq that divides --steps) on the same adjacent chunk pairs as actioncodec-bench, held out exactly as
--dataset.eval_split holds them out of training. Several --run-dir flags draw several runs on one figure.
Writes the PNG, and the numbers as JSON next to it; prints a markdown table.

  actioncodec-learning-curves --run-dir outputs/tok --dataset.repo_id=local/corpus --dataset.root=data/corpus \\
      --dataset.eval_split 0.2 --chunk-seconds 0.5 --output docs/images/tokenizer_learning_curves.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from ..benchmark import bench_tokenizer, make_tokenizer
from ..evaluation import benchmark_chunks, load_episode_actions
from ..report import plot_learning_curves
from .bench import chunk_length_for

CURVES = ("overlap_rate", "chance_overlap_rate", "reconstruction_relative_mae", "codebook_usage")


def saved_steps(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, pretrained_model directory) of every checkpoint of a lerobot-train run, in step order."""
    found = [(int(d.name), d / "pretrained_model") for d in (run_dir / "checkpoints").glob("[0-9]*")
             if (d / "pretrained_model" / "config.json").is_file()]  # fmt: skip
    if not found:
        raise ValueError(f"--run-dir {run_dir}: no checkpoints/<step>/pretrained_model; expected a lerobot-train "
                         "output directory (set --save_freq to save several)")  # fmt: skip
    return sorted(found)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, action="append", required=True, help="a lerobot-train output_dir")
    parser.add_argument("--dataset.repo_id", dest="repo_id", required=True)
    parser.add_argument("--dataset.root", dest="root", required=True)
    parser.add_argument("--dataset.eval_split", dest="eval_split", type=float, default=0.0)
    parser.add_argument("--chunk-seconds", type=float, required=True)
    parser.add_argument("--options", default="", help="checkpoint options, e.g. 'levels=3' or 'embodiment=NAME'")
    parser.add_argument("--max-chunks", type=int, default=2000)
    parser.add_argument("--output", type=Path, default=Path("outputs/learning_curves.png"))
    args = parser.parse_args(argv)

    data = load_episode_actions(args.repo_id, args.root)
    split = benchmark_chunks(data, args.eval_split, chunk_length_for([], data.fps, args.chunk_seconds), args.max_chunks)
    curves: dict[str, dict[str, list[float]]] = {}
    for run_dir in args.run_dir:
        curve: dict[str, list[float]] = {"step": [], **{name: [] for name in CURVES}}
        for step, checkpoint in tqdm(saved_steps(run_dir), desc=run_dir.name):
            spec = f"{checkpoint}:{args.options}" if args.options else str(checkpoint)
            _, tokenizer = make_tokenizer(spec, split.fit_chunks)
            result = bench_tokenizer(run_dir.name, tokenizer, split.chunks, split.next_chunks, timing_repeats=1)
            curve["step"].append(step)
            for name in CURVES:
                curve[name].append(result.metrics[name])
        curves[run_dir.name] = curve

    held = f"{len(split.heldout)} held-out episodes" if args.eval_split else "all episodes"
    print(f"{len(split.chunks)} chunk pairs of {split.chunks.shape[1]} steps from {held}")
    print("| run | step | overlap rate | chance overlap | rel. MAE | usage |\n|---|---:|---:|---:|---:|---:|")
    for name, curve in curves.items():
        for i, step in enumerate(curve["step"]):
            print(f"| {name} | {step} | {curve['overlap_rate'][i]:.3f} | {curve['chance_overlap_rate'][i]:.3f} | "
                  f"{curve['reconstruction_relative_mae'][i]:.3f} | {curve['codebook_usage'][i]:.0%} |")  # fmt: skip
    plot_learning_curves(curves, args.output, f"{args.repo_id}, {held}")
    args.output.with_suffix(".json").write_text(json.dumps(curves, indent=2) + "\n")


if __name__ == "__main__":
    main()
