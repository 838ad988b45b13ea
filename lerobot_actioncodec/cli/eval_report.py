"""actioncodec-eval-report: success per task from a `lerobot-eval` run's eval_info.json.

lerobot-eval prints aggregates per task group; this prints one row per task (episodes, successes, success
rate, mean max reward) and the overall rate, and optionally writes them as JSON (--output). Several
`--eval-dir LABEL=DIR` give one row per run instead: the comparison table of scripts/compare_tokenizers.sh.
A run whose directory holds the policy's rollout log (`--policy.rollout_log=DIR/rollout_log.jsonl`) also gets a
row in a chunk-boundary table (jumps between chunks, no-motion and repaired chunks), written as
DIR/rollout_summary.json too.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..rollout_log import ROLLOUT_LOG_NAME, summarize_rollout_log


def success_per_task(eval_info: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per evaluated task, in eval order. A task is named by its group (a MetaWorld task, a LIBERO
    suite), followed by its id where the group has several tasks or the id is not 0 (LIBERO: `libero_object/2`)."""
    if "per_task" not in eval_info:
        raise ValueError("eval_info has no 'per_task' entry: expected the eval_info.json that lerobot-eval writes")
    group_sizes = Counter(entry["task_group"] for entry in eval_info["per_task"])
    rows = []
    for entry in eval_info["per_task"]:
        group, task_id = entry["task_group"], entry.get("task_id", 0)
        metrics = entry["metrics"]
        successes = [bool(s) for s in metrics["successes"]]
        max_rewards = metrics.get("max_rewards") or []
        rows.append(
            {
                "task": group if task_id == 0 and group_sizes[group] == 1 else f"{group}/{task_id}",
                "episodes": len(successes),
                "successes": sum(successes),
                "success_rate": sum(successes) / len(successes) if successes else 0.0,
                "mean_max_reward": sum(max_rewards) / len(max_rewards) if max_rewards else None,
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| task | episodes | successes | success rate | mean max reward |", "|---|---:|---:|---:|---:|"]
    for row in rows:
        reward = "n/a" if row["mean_max_reward"] is None else f"{row['mean_max_reward']:.2f}"
        lines.append(
            f"| {row['task']} | {row['episodes']} | {row['successes']} | {row['success_rate']:.0%} | {reward} |"
        )
    episodes = sum(r["episodes"] for r in rows)
    successes = sum(r["successes"] for r in rows)
    lines.append(f"| **all** | {episodes} | {successes} | {successes / max(episodes, 1):.0%} | |")
    return "\n".join(lines)


def format_comparison(runs: dict[str, list[dict[str, Any]]]) -> str:
    """One row per labelled run, over all of its tasks."""
    lines = ["| run | episodes | successes | success rate | mean max reward |", "|---|---:|---:|---:|---:|"]
    for label, rows in runs.items():
        episodes = sum(r["episodes"] for r in rows)
        successes = sum(r["successes"] for r in rows)
        rewards = [r["mean_max_reward"] * r["episodes"] for r in rows if r["mean_max_reward"] is not None]
        reward = f"{sum(rewards) / episodes:.2f}" if rewards and episodes else "n/a"
        lines.append(f"| {label} | {episodes} | {successes} | {successes / max(episodes, 1):.0%} | {reward} |")
    return "\n".join(lines)


def format_boundaries(summaries: dict[str, dict[str, Any]]) -> str:
    """One row per run with a rollout log: the deploy-level smoothness and the chunks that did not run as decoded."""
    lines = [
        "| run | chunks | replaced by no motion | repaired | boundaries | largest jump | mean jump "
        "| mean in-chunk step |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, m in summaries.items():
        lines.append(
            f"| {label} | {m['chunks']} | {m['invalid_chunks']} | {m['repaired_chunks']} | {m['boundaries']} | "
            f"{m['jump_max']:.4f} | {m['jump_mean']:.4f} | {m['in_chunk_step_mean']:.4f} |"
        )
    return "\n".join(lines)


def read_boundaries(directory: Path) -> dict[str, Any] | None:
    """The rollout log's summary of an eval dir (also saved there as rollout_summary.json), None without a log."""
    log = directory / ROLLOUT_LOG_NAME
    if not log.is_file():
        return None
    summary = summarize_rollout_log(log)
    (directory / "rollout_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def run_spec(spec: str) -> tuple[str, Path]:
    """`DIR` or `LABEL=DIR` -> (label, directory); the label defaults to the directory's parent's name."""
    label, _, path = spec.rpartition("=")
    directory = Path(path)
    return label or directory.parent.name or str(directory), directory


def read_run(spec: str) -> tuple[str, list[dict[str, Any]]]:
    """`DIR` or `LABEL=DIR` -> (label, rows)."""
    label, directory = run_spec(spec)
    info_path = directory / "eval_info.json"
    if not info_path.is_file():
        raise SystemExit(f"--eval-dir={spec}: no eval_info.json; expected a lerobot-eval --output_dir")
    return label, success_per_task(json.loads(info_path.read_text()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", action="append", required=True, help="lerobot-eval's --output_dir, or LABEL=DIR")
    parser.add_argument("--output", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    runs = dict(read_run(spec) for spec in args.eval_dir)
    if len(args.eval_dir) == 1:
        rows: Any = next(iter(runs.values()))
        print(format_table(rows))
    else:
        rows = runs
        print(format_comparison(runs))
    boundaries = {label: read_boundaries(directory) for label, directory in map(run_spec, args.eval_dir)}
    boundaries = {label: summary for label, summary in boundaries.items() if summary is not None}
    if boundaries:
        print()
        print(format_boundaries(boundaries))
    if args.output is not None:
        args.output.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
