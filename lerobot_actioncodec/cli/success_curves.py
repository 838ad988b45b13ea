"""actioncodec-success-curves: success rate against training steps, one curve per run, from lerobot-eval runs of
several checkpoints of each run.

Each `--run LABEL=DIR` names a directory holding one lerobot-eval --output_dir per evaluated checkpoint, named by
its training step (DIR/<step>/eval_info.json, as scripts/metaworld_protocol.sh writes them). Prints, and writes
as markdown and JSON next to --output:
  - success rate against steps per run, over all tasks;
  - success per task and per MetaWorld difficulty group (LeRobot's groups) at each run's last evaluated step;
  - the chunk-boundary table (jumps, no-motion and repaired chunks) of each run's last step that has the
    policy's rollout log.
Draws the curves (all tasks, then one panel per difficulty group) as the PNG --output.

  actioncodec-success-curves --run binning=outputs/protocol/runs/binning/eval \\
      --run actioncodec=outputs/protocol/runs/actioncodec/eval --output outputs/protocol/success.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..data.metaworld import difficulty_groups
from ..report import plot_success_curves
from .eval_report import format_boundaries, read_boundaries, run_spec, success_per_task

Rows = list[dict[str, Any]]


def evaluated_steps(directory: Path) -> dict[int, Rows]:
    """{step: success rows} of every DIR/<step>/eval_info.json, in step order."""
    found = {int(d.name): d for d in directory.glob("[0-9]*") if (d / "eval_info.json").is_file()}
    if not found:
        raise SystemExit(f"--run {directory}: no <step>/eval_info.json; expected one lerobot-eval output per step")
    return {step: success_per_task(json.loads((found[step] / "eval_info.json").read_text())) for step in sorted(found)}


def group_rates(rows: Rows, group_of: dict[str, str]) -> dict[str, float]:
    """Success rate over all tasks ("all"), then per difficulty group (`group_of`: task -> group) that has tasks
    among `rows` ("other" for a task in none), episodes pooled."""
    pooled: dict[str, list[int]] = {"all": [0, 0]}
    for row in rows:
        for key in ("all", group_of.get(row["task"], "other")):
            tally = pooled.setdefault(key, [0, 0])
            tally[0] += row["successes"]
            tally[1] += row["episodes"]
    return {key: successes / episodes for key, (successes, episodes) in pooled.items() if episodes}


def format_steps_table(curves: dict[str, dict[str, dict[int, float]]]) -> str:
    steps = sorted({step for curve in curves.values() for step in curve["all"]})
    lines = ["| run | " + " | ".join(f"step {s}" for s in steps) + " |", "|---|" + "---:|" * len(steps)]
    for label, curve in curves.items():
        cells = [f"{curve['all'][s]:.0%}" if s in curve["all"] else "" for s in steps]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_last_step_tables(
    last: dict[str, tuple[int, Rows]], rates: dict[str, dict[str, float]], group_of: dict[str, str]
) -> str:
    """Per task (successes/episodes) and per difficulty group (`rates`) at each run's last evaluated step."""
    labels = list(last)
    header = "| " + " | ".join(f"{label} (step {last[label][0]})" for label in labels) + " |"
    tasks = list(dict.fromkeys(row["task"] for _, rows in last.values() for row in rows))
    lines = ["| task | group " + header, "|---|---|" + "---:|" * len(labels)]
    for task in tasks:
        cells = []
        for label in labels:
            row = next((r for r in last[label][1] if r["task"] == task), None)
            cells.append("" if row is None else f"{row['successes']}/{row['episodes']}")
        lines.append(f"| {task} | {group_of.get(task, 'other')} | " + " | ".join(cells) + " |")
    keys = list(dict.fromkeys(key for r in rates.values() for key in r if key != "all")) + ["all"]
    lines += ["", "| difficulty group " + header, "|---|" + "---:|" * len(labels)]
    for key in keys:
        cells = [f"{rates[label][key]:.0%}" if key in rates[label] else "" for label in labels]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="LABEL=DIR with DIR/<step>/eval_info.json")
    parser.add_argument("--output", type=Path, default=Path("outputs/success_curves.png"))
    parser.add_argument("--title", default="success rate against training steps")
    args = parser.parse_args(argv)
    group_of = {task: group for group, tasks in difficulty_groups().items() for task in tasks}
    directories = dict(map(run_spec, args.run))
    runs = {label: evaluated_steps(directory) for label, directory in directories.items()}
    rates = {
        label: {step: group_rates(rows, group_of) for step, rows in by_step.items()} for label, by_step in runs.items()
    }
    curves: dict[str, dict[str, dict[int, float]]] = {label: {} for label in runs}
    for label, by_step in rates.items():
        for step, step_rates in by_step.items():
            for key, rate in step_rates.items():
                curves[label].setdefault(key, {})[step] = rate
    last = {label: max(by_step.items()) for label, by_step in runs.items()}
    last_rates = {label: rates[label][step] for label, (step, _) in last.items()}
    sections = ["Success rate, all tasks:", format_steps_table(curves), "",
                format_last_step_tables(last, last_rates, group_of)]  # fmt: skip
    boundaries = {label: read_boundaries(directories[label] / str(step)) for label, (step, _) in last.items()}
    boundaries = {label: summary for label, summary in boundaries.items() if summary is not None}
    if boundaries:
        sections += ["", "Chunk boundaries at the last step:", format_boundaries(boundaries)]
    text = "\n".join(sections)
    print(text)
    plot_success_curves(curves, args.output, args.title)
    args.output.with_suffix(".md").write_text(text + "\n")
    record = {label: {str(step): {"rates": rates[label][step], "tasks": rows} for step, rows in by_step.items()}
              for label, by_step in runs.items()}  # fmt: skip
    record = {"runs": record, "chunk_boundaries": boundaries}
    args.output.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
