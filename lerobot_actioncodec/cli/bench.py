"""actioncodec-bench: measure action tokenizers side by side on a local LeRobotDataset.

Tokenizers are listed with --tokenizers: heuristic ones are fitted on the spot on the benchmark's chunks
(`binning`, `binning:bins=1000`, `fast`, `fast:vocab_size=2048,scale=10`), learned ones are saved
directories (an `actioncodec_tokenizer` lerobot-train checkpoint, or any saved action tokenizer). All are
scored on the same adjacent chunk pairs. Writes a markdown table to stdout, bench.json and bench.png.
--save-dir also saves every tokenizer fitted on the spot, ready for `--policy.tokenizer_path`.

--plans scores coarse plans (Coarse-to-Control) instead of chunks: the plan of every step of the episodes
(coarse_plan.py, H_p and K from the first saved joint-mode tokenizer), paired with the next step's. Saved tokenizers
are read in their plan mode (a joint-mode or plan-only actioncodec_tokenizer); tokenizers fitted here are fitted on
the plans, as the separate planning codec of the paper's ablation. For a joint-mode tokenizer the table also gives
the support overlap of its plan and execution tokens' code distributions. `c2c` (Coarse-to-Control's own
tokenizer) is fitted on both modes, the training episodes' chunks and plans.

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

from ..benchmark import FITTED, bench_tokenizer, encode_all, fit_options, make_tokenizer, markdown_table
from ..coarse_plan import adjacent_plan_pairs, support_overlap
from ..evaluation import BenchmarkChunks, EpisodeActions, benchmark_chunks, eval_split_episodes, load_episode_actions
from ..report import plot_benchmark
from ..tokenizers.c2c import C2CTokenizer
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


def plan_source(specs: list[str]) -> object:
    """The first saved tokenizer with a plan mode: its H_p, K, gripper dimensions and action kind set the plans."""
    for spec in specs:
        directory = spec_directory(spec)
        if directory is not None:
            tokenizer = load_action_tokenizer(directory)
            if getattr(tokenizer, "plan_horizon", None) is not None:
                return tokenizer
    raise ValueError("--plans needs a saved joint-mode (or plan-only) actioncodec tokenizer among --tokenizers: "
                     "train one with --policy.plan_seconds=<seconds>")  # fmt: skip


def benchmark_plans(data: EpisodeActions, eval_split: float, source: object, max_pairs: int) -> BenchmarkChunks:
    """As benchmark_chunks, on the coarse plans of each step (the held-out episodes' scored, the others' fitted on)."""

    def pairs(episodes: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        episode_actions = [torch.from_numpy(a) for a in data.select(episodes)]
        return adjacent_plan_pairs(episode_actions, *source.plan_settings, max_pairs)

    everything = list(range(len(data.actions)))
    train, heldout = eval_split_episodes(data.tasks, eval_split) if eval_split else (everything, everything)
    plans, next_plans = pairs(heldout)
    return BenchmarkChunks(plans, next_plans, pairs(train)[0] if eval_split else plans, train, heldout)


def fit_joint_c2c(spec: str, chunks: torch.Tensor, plans: torch.Tensor, source: object) -> C2CTokenizer:
    """The c2c tokenizer fitted on execution chunks and coarse plans together, with `source`'s plan settings."""
    settings = source.plan_settings
    return C2CTokenizer.fit_joint(chunks, plans, settings.horizon, list(settings.gripper_dims), settings.absolute,
                                  **fit_options(spec))  # fmt: skip


def in_plan_mode(name: str, tokenizer: object, plans: torch.Tensor, chunks: torch.Tensor) -> tuple[str, object, dict]:
    """A saved tokenizer read in its plan mode, with, for a joint-mode one, the support overlap of its plan tokens
    (on `plans`) and its execution tokens (on `chunks`, of the same episodes)."""
    if getattr(tokenizer, "plan_horizon", None) is None:
        raise ValueError(f"tokenizer {name} has no plan mode: --plans reads saved tokenizers in their plan mode "
                         "(train them with --policy.plan_seconds=<seconds>)")  # fmt: skip
    plan = tokenizer.plan_tokenizer()
    extra = {}
    if getattr(tokenizer, "config", {}).get("train_execution", True):
        plan_ids, exec_ids = encode_all(plan, plans).ids, encode_all(tokenizer, chunks).ids
        extra["plan_exec_support_overlap"] = support_overlap(plan_ids, exec_ids, tokenizer.vocab_size)
    return f"{name} [plan mode]", plan, extra


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
    parser.add_argument("--plans", action="store_true", help="score coarse plans, saved tokenizers in their plan mode")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    specs = [s.strip() for s in args.tokenizers.split(";" if ";" in args.tokenizers else ",") if s.strip()]
    data = load_episode_actions(args.repo_id, args.root)
    fps = data.fps
    if args.plans:
        source = plan_source(specs)
        chunk_length = source.chunk_length
        split = benchmark_plans(data, args.eval_split, source, args.max_chunks)
        execution = benchmark_chunks(data, args.eval_split, chunk_length, args.max_chunks)
        exec_chunks = execution.chunks
    else:
        chunk_length = chunk_length_for(specs, fps, args.chunk_seconds)
        split = benchmark_chunks(data, args.eval_split, chunk_length, args.max_chunks)
    chunks, next_chunks, fit_chunks, train, heldout = (split.chunks, split.next_chunks, split.fit_chunks,
                                                       split.train, split.heldout)  # fmt: skip
    results = []
    for spec in tqdm(specs, desc="tokenizers"):
        joint_c2c = args.plans and spec.partition(":")[0] == "c2c"  # Coarse-to-Control's own: both modes
        if joint_c2c:
            name, tokenizer = spec, fit_joint_c2c(spec, execution.fit_chunks, fit_chunks, source)
        else:
            name, tokenizer = make_tokenizer(spec, fit_chunks)
        extra = {}
        if joint_c2c or (args.plans and spec_directory(spec) is not None):
            name, tokenizer, extra = in_plan_mode(name, tokenizer, chunks, exec_chunks)
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
        results[-1].metrics.update(extra)
        if args.save_dir is not None and spec.partition(":")[0] in FITTED:
            tokenizer.save_pretrained(args.save_dir / saved_name(spec))

    if args.plans:
        print(f"{len(chunks)} coarse plan pairs of {chunk_length} plan steps x {chunks.shape[2]} dims, each of the "
              f"next H_p={source.plan_horizon} actions at {fps:g} fps")  # fmt: skip
    else:
        print(f"{len(chunks)} chunk pairs of {chunk_length} steps x {chunks.shape[2]} dims at {fps:g} fps")
    if args.eval_split:
        print(
            f"scored on {len(heldout)} held-out episodes of {len(data.actions)} (--dataset.eval_split="
            f"{args.eval_split:g}: the last share of each task's episodes); fitted here on the {len(train)} others"
        )
    else:
        print(f"fitted and scored on all {len(data.actions)} episodes (--dataset.eval_split holds some out)")
    print(markdown_table(results))
    for result in results:
        if "plan_exec_support_overlap" in result.metrics:
            print(f"support overlap of plan and execution codes, {result.name}: "
                  f"{result.metrics['plan_exec_support_overlap']:.3f}")  # fmt: skip
    args.output_dir.mkdir(parents=True, exist_ok=True)
    summary = {"chunk_pairs": len(chunks), "chunk_length": chunk_length, "fps": fps, "eval_split": args.eval_split,
               "plans": args.plans,
               "train_episodes": train, "heldout_episodes": heldout}  # fmt: skip
    summary["tokenizers"] = {r.name: {**r.metrics, "fitted_on": r.fitted_on, "collapsed": r.collapsed}
                             for r in results}  # fmt: skip
    (args.output_dir / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    rate = fps * chunk_length / source.plan_horizon if args.plans else fps  # a plan step lasts c = H_p / K actions
    plot_benchmark(chunks, {r.name: r.reconstruction for r in results}, summary["tokenizers"],
                   args.output_dir / "bench.png", rate)  # fmt: skip


if __name__ == "__main__":
    main()
