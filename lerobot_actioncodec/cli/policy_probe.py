"""actioncodec-policy-probe: teacher-forced against free-running token accuracy of trained policies, offline.

Each --run NAME=CHECKPOINT (a lerobot-train `pretrained_model` directory of any head of the package) predicts
every --stride-th frame of a LeRobotDataset (best: episodes it did not train on, e.g. collected with another
--seed) through its saved preprocessor, as lerobot-eval feeds it. Prints per run the teacher-forced token
accuracy (what training logs), the free-running one (what the head decodes at deployment) and its first and last
position, the mean absolute error of the chunk it would execute against the demonstrated chunk and the tokenizer's
own reconstruction error of that chunk (prediction_probe.py says why). --output writes the numbers, with the
free-running accuracy of every position, as JSON.

  actioncodec-policy-probe --run AR=outputs/protocol_cpu/runs/actioncodec/policy/checkpoints/last/pretrained_model \\
      --dataset.repo_id=local/heldout --dataset.root=outputs/heldout --stride 10 --output outputs/probe.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..prediction_probe import ProbeTotals, exec_positions_from, frame_indices, probe_batch
from .eval_report import run_spec


def load_policy(checkpoint: Path, device: str) -> tuple[Any, Any]:
    """A saved policy of any registered type and its saved preprocessor, as lerobot-eval loads them."""
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    if not (checkpoint / "config.json").is_file():
        raise ValueError(f"--run {checkpoint}: no config.json; expected a lerobot-train pretrained_model directory")
    config = PreTrainedConfig.from_pretrained(checkpoint)
    config.device = device
    policy = get_policy_class(config.type).from_pretrained(checkpoint, config=config).to(device).eval()
    if not hasattr(policy, "predict_tokens"):
        raise ValueError(f"--run {checkpoint}: a {config.type} policy predicts no tokens; expected one of the "
                         "package's token heads (actioncodec, _pd, _bar, _ki)")  # fmt: skip
    preprocessor, _ = make_pre_post_processors(
        policy_cfg=config, pretrained_path=str(checkpoint),
        preprocessor_overrides={"device_processor": {"device": device}},
    )  # fmt: skip
    return policy, preprocessor


def probe_run(
    name: str, checkpoint: Path, repo_id: str, root: Path, stride: int, batch_size: int, device: str
) -> dict[str, Any]:
    """The probe's summary of one checkpoint on the dataset's frames."""
    from lerobot.datasets.factory import resolve_delta_timestamps
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata

    policy, preprocessor = load_policy(checkpoint, device)
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
            "tokenizer MAE |", "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, r in results.items():
        free = f"{r['free_running_token_accuracy']:.3f}"
        if "free_running_exec_token_accuracy" in r:
            free += f" (exec {r['free_running_exec_token_accuracy']:.3f})"
        rows.append(f"| {name} | {r['frames']} | {r['teacher_forced_token_accuracy']:.3f} | {free} | "
                    f"{r['first_position_accuracy']:.3f} | {r['last_position_accuracy']:.3f} | "
                    f"{r['chunk_mae']:.4f} | {r['tokenizer_chunk_mae']:.4f} |")  # fmt: skip
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="NAME=CHECKPOINT (a pretrained_model dir)")
    parser.add_argument("--dataset.repo_id", dest="repo_id", required=True)
    parser.add_argument("--dataset.root", dest="root", type=Path, required=True)
    parser.add_argument("--stride", type=int, default=10, help="probe every N-th frame (default 10)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", type=Path, help="write the numbers as JSON")
    args = parser.parse_args(argv)
    if args.stride < 1 or args.batch_size < 1:
        parser.error(f"--stride={args.stride} --batch-size={args.batch_size}: expected both >= 1")

    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()
    results = {}
    for name, checkpoint in map(run_spec, args.run):
        results[name] = probe_run(name, checkpoint, args.repo_id, args.root, args.stride, args.batch_size, args.device)
    print(format_table(results))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
