"""actioncodec-policy-probe: teacher-forced against free-running token accuracy of trained policies, offline.

Each --run NAME=CHECKPOINT (a lerobot-train `pretrained_model` directory of any head of the package) predicts
every --stride-th frame of a LeRobotDataset (best: episodes it did not train on, e.g. collected with another
--seed) through its saved preprocessor, as lerobot-eval feeds it. Prints per run the teacher-forced token
accuracy (what training logs), the free-running one (what the head decodes at deployment) and its first and last
position, the mean absolute error of the chunk it would execute against the demonstrated chunk and the tokenizer's
own reconstruction error of that chunk (prediction_probe.py says why), and how many different ids it decodes first
against how many the demonstrations start with (a policy that ignores its observation starts every chunk alike).
--option NAME:KEY=VALUE changes one run's setting at load time, as `lerobot-eval --policy.KEY=VALUE` would (e.g.
`bar1:refinement_passes=1`, so one checkpoint can be read twice). --output writes the numbers, with the
free-running accuracy of every position, as JSON.

  actioncodec-policy-probe --run AR=outputs/protocol_cpu/runs/actioncodec/policy/checkpoints/last/pretrained_model \\
      --dataset.repo_id=local/heldout --dataset.root=outputs/heldout --stride 10 --output outputs/probe.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..config_errors import InvalidConfigError
from ..prediction_probe import ProbeTotals, exec_positions_from, frame_indices, probe_batch
from .eval_report import run_spec


def parse_options(specs: list[str], runs: list[str]) -> dict[str, dict[str, Any]]:
    """`NAME:KEY=VALUE` flags -> {NAME: {KEY: VALUE}}; VALUE is read as JSON where it parses (1, 0.5, true, [1, 2])
    and kept as a string otherwise."""
    options: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name, _, setting = spec.partition(":")
        key, equals, value = setting.partition("=")
        if not (name and key and equals):
            raise ValueError(f"--option {spec!r}: expected NAME:KEY=VALUE, e.g. bar1:refinement_passes=1")
        if name not in runs:
            raise ValueError(f"--option {spec!r}: no --run is named {name!r}; expected one of {runs}")
        try:
            options.setdefault(name, {})[key] = json.loads(value)
        except json.JSONDecodeError:
            options[name][key] = value
    return options


def load_config(checkpoint: Path, device: str, options: dict[str, Any] | None = None) -> Any:
    """The checkpoint's policy config with `options` set (and checked, as building the config checks them)."""
    from lerobot.configs.policies import PreTrainedConfig

    if not (checkpoint / "config.json").is_file():
        raise ValueError(f"--run {checkpoint}: no config.json; expected a lerobot-train pretrained_model directory")
    config = PreTrainedConfig.from_pretrained(checkpoint)
    settings = {f.name for f in dataclasses.fields(config) if f.init}
    unknown = sorted(set(options or {}) - settings)
    if unknown:
        raise ValueError(f"--option {unknown}: not settings of {config.type}; expected some of {sorted(settings)}")
    return dataclasses.replace(config, device=device, **(options or {}))


def load_policy(checkpoint: Path, device: str, options: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """A saved policy of any registered type and its saved preprocessor, as lerobot-eval loads them."""
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    config = load_config(checkpoint, device, options)
    policy = get_policy_class(config.type).from_pretrained(checkpoint, config=config).to(device).eval()
    if not hasattr(policy, "predict_tokens"):
        raise ValueError(f"--run {checkpoint}: type {config.type!r} predicts no tokens; expected one of the "
                         "package's token heads (actioncodec, _pd, _bar, _ki)")  # fmt: skip
    preprocessor, _ = make_pre_post_processors(
        policy_cfg=config, pretrained_path=str(checkpoint),
        preprocessor_overrides={"device_processor": {"device": device}},
    )  # fmt: skip
    return policy, preprocessor


def probe_run(name: str, checkpoint: Path, args: argparse.Namespace, options: dict[str, Any]) -> dict[str, Any]:
    """The probe's summary of one checkpoint on the dataset's frames."""
    from lerobot.datasets.factory import resolve_delta_timestamps
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata

    repo_id, root, stride, batch_size = args.repo_id, args.root, args.stride, args.batch_size
    policy, preprocessor = load_policy(checkpoint, args.device, options)
    meta = LeRobotDatasetMetadata(repo_id, root=root)
    dataset = LeRobotDataset(repo_id, root=root, delta_timestamps=resolve_delta_timestamps(policy.config, meta))
    bounds = zip(meta.episodes["dataset_from_index"], meta.episodes["dataset_to_index"], strict=True)
    frames = frame_indices(bounds, policy.config.chunk_length, stride)
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, frames), batch_size=batch_size)
    totals = ProbeTotals()
    torch.manual_seed(0)  # KI's flow noise and its training loss's noise and times
    for batch in tqdm(loader, desc=name, leave=False):
        probe_batch(policy, preprocessor(batch), totals)
    return totals.summary(exec_positions_from(policy))


def format_table(results: dict[str, dict[str, Any]]) -> str:
    rows = ["| run | frames | teacher-forced | free-running | first position | last position | chunk MAE | "
            "first n_action_steps MAE | tokenizer MAE | distinct first tokens (demonstrated) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, r in results.items():
        free = f"{r['free_running_token_accuracy']:.3f}"
        if "free_running_exec_token_accuracy" in r:
            free += f" (exec {r['free_running_exec_token_accuracy']:.3f})"
        rows.append(f"| {name} | {r['frames']} | {r['teacher_forced_token_accuracy']:.3f} | {free} | "
                    f"{r['first_position_accuracy']:.3f} | {r['last_position_accuracy']:.3f} | {r['chunk_mae']:.4f} | "
                    f"{r['executed_steps_mae']:.4f} | {r['tokenizer_chunk_mae']:.4f} | "
                    f"{r['distinct_first_tokens']} ({r['distinct_first_tokens_demonstrated']}) |")  # fmt: skip
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="NAME=CHECKPOINT (a pretrained_model dir)")
    parser.add_argument("--dataset.repo_id", dest="repo_id", required=True)
    parser.add_argument("--dataset.root", dest="root", type=Path, required=True)
    parser.add_argument("--stride", type=int, default=10, help="probe every N-th frame (default 10)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--option", action="append", default=[], help="NAME:KEY=VALUE, a run's setting at load time")
    parser.add_argument("--output", type=Path, help="write the numbers as JSON")
    args = parser.parse_args(argv)
    if args.stride < 1 or args.batch_size < 1:
        parser.error(f"--stride={args.stride} --batch-size={args.batch_size}: expected both >= 1")
    runs = dict(map(run_spec, args.run))
    if len(runs) < len(args.run):
        parser.error(f"--run {args.run}: two runs have one name; expected NAME=CHECKPOINT with distinct names")

    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()
    try:
        options = parse_options(args.option, list(runs))
        results = {name: probe_run(name, checkpoint, args, options.get(name, {})) for name, checkpoint in runs.items()}
    except (ValueError, InvalidConfigError) as error:  # the messages name the flag and what it expects
        parser.error(str(error))
    print(format_table(results))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
