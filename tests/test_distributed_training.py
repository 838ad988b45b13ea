"""Training beyond one process: lerobot-train under `accelerate launch` with 2 processes (CPU: gloo), and what the
types tell FSDP to shard."""

import contextlib
import json
import re
import subprocess
import time
import warnings
from pathlib import Path

import pytest
import torch
from accelerate.utils.dataclasses import get_module_class_from_name
from lerobot.policies.factory import get_policy_class
from safetensors import safe_open

from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy
from lerobot_actioncodec.policies.actioncodec_pd.configuration_actioncodec_pd import ActionCodecPDConfig
from lerobot_actioncodec.policies.actioncodec_pd.modeling_actioncodec_pd import ActionCodecPDPolicy

from .helpers import BIN, COMPACT_HEAD, POLICY_FEATURES, TINY_TOKENIZER_ARGS, TINY_VLM, tiny_policy

# accelerate's process launcher is `--multi_gpu`; with --policy.device=cpu LeRobot's Accelerator runs the processes
# as MULTI_CPU over gloo. `--cpu` would instead run a single process.
ACCELERATE_2_PROCESSES = ["launch", "--multi_gpu", "--num_processes=2", "--num_machines=1", "--mixed_precision=no",
                          "--dynamo_backend=no"]  # fmt: skip
STEPS, LOG_FREQ = 30, 10
VQVLA = '{"codebook_size": 64, "channels": 32, "latent_dim": 32}'
TINY_TOKENIZER = [*TINY_TOKENIZER_ARGS, "--policy.kmeans_init=false"]
COMPACT = ["--policy.backbone=compact", "--policy.image_size=16", "--policy.hidden_size=32", "--policy.num_layers=2",
           "--policy.num_heads=2"]  # fmt: skip


# ---------------------------------------------------------------------------------------------------- FSDP
@pytest.mark.parametrize(
    ("config_class", "policy_class", "settings", "expected"),
    [
        (ActionCodecConfig, ActionCodecPolicy, TINY_VLM, {"LlamaDecoderLayer", "SmolVLMVisionAttention"}),
        (ActionCodecConfig, ActionCodecPolicy, COMPACT_HEAD, {"LlamaDecoderLayer"}),
        (ActionCodecPDConfig, ActionCodecPDPolicy, TINY_VLM, {"SmolVLMVisionAttention", "LlamaDecoderLayer"}),
    ],
    ids=["smolvlm", "compact", "pd-smolvlm-expert"],
)
def test_policies_name_the_blocks_fsdp_wraps(config_class, policy_class, settings, expected, rvq_tokenizer_dir):
    config = config_class(tokenizer_path=str(rvq_tokenizer_dir), **{"device": "cpu", **POLICY_FEATURES, **settings})
    policy = policy_class(config)
    assert expected <= set(policy._no_split_modules)
    for name in policy._no_split_modules:  # what accelerate's TRANSFORMER_BASED_WRAP does with each name
        assert get_module_class_from_name(policy, name) is not None, name


def test_tokenizer_names_the_block_fsdp_wraps():
    policy = tiny_policy()
    assert policy._no_split_modules == ["PerceiverLayer"]
    assert get_module_class_from_name(policy, "PerceiverLayer") is not None


# ----------------------------------------------------------------------------------------- accelerate launch
def train(tiny_dataset, out: Path, processes: int, *policy_args: str) -> tuple[Path, str]:
    """lerobot-train (under accelerate launch when processes=2); returns the last checkpoint and the log."""
    repo_id, root = tiny_dataset
    launcher = [str(BIN / "accelerate"), *ACCELERATE_2_PROCESSES] if processes == 2 else []
    command = [*launcher, str(BIN / "lerobot-train"), f"--dataset.repo_id={repo_id}", f"--dataset.root={root}",
               "--policy.device=cpu", f"--steps={STEPS}", "--batch_size=8", "--num_workers=0", f"--save_freq={STEPS}",
               f"--log_freq={LOG_FREQ}", f"--output_dir={out}", "--seed=1", *policy_args]  # fmt: skip
    checkpoint = out / "checkpoints" / "last" / "pretrained_model"
    returncode, log = run_until_trained(command, out.parent / f"{out.name}.log", checkpoint)
    assert returncode == 0, log[-8000:]
    assert f"Effective batch size: 8 x {processes} = {8 * processes}" in log, log[-3000:]
    return checkpoint, log


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill a launcher and every process under it: accelerate's ranks run in their own process groups, so killing
    the launcher's group alone leaves a hung rank behind."""
    import psutil

    processes = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=30)
    proc.wait()


def run_until_trained(command: list[str], log_file: Path, checkpoint: Path, timeout: float = 600,
                      teardown_grace: float = 60) -> tuple[int, str]:  # fmt: skip
    """Run a lerobot-train command; (exit code, log). Under gloo a process can hang at exit in torch's process-group
    teardown after training has finished (pytorch/pytorch#75097: the DDP reducer's ProcessGroupGloo destructor
    joins a thread that never returns). A run that logged "End of training" with its checkpoint written but has
    not exited `teardown_grace` seconds later is stopped and counted as finished, with a warning."""
    with log_file.open("w") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        start, finished_at = time.monotonic(), None
        while proc.poll() is None:
            time.sleep(1)
            if finished_at is None and (checkpoint / "model.safetensors").is_file():
                finished_at = time.monotonic() if "End of training" in log_file.read_text() else None
            overdue = finished_at is not None and time.monotonic() - finished_at > teardown_grace
            if overdue or time.monotonic() - start > timeout:
                kill_tree(proc)
                if not overdue:
                    return -1, log_file.read_text() + f"\n[killed after {timeout:.0f} s]"
                warnings.warn("lerobot-train finished training but hung in torch's gloo teardown; stopped it")
                return 0, log_file.read_text()
    return proc.returncode, log_file.read_text()


def logged_losses(log: str) -> list[float]:
    return [float(value) for value in re.findall(r"step:\d+ .*? loss:([\d.]+)", log)]


def checkpoint_format(path: Path) -> tuple[set[str], dict, dict[str, tuple[int, ...]]]:
    """Files, config.json and the weights' names and shapes of a pretrained_model/ directory."""
    files = {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}
    with safe_open(str(path / "model.safetensors"), "pt") as weights:
        shapes = {name: tuple(weights.get_slice(name).get_shape()) for name in weights.keys()}  # noqa: SIM118
    return files, json.loads((path / "config.json").read_text()), shapes


TYPES = {
    "actioncodec_tokenizer": ["--policy.type=actioncodec_tokenizer", *TINY_TOKENIZER],
    "peer_tokenizer-vqvla": ["--policy.type=peer_tokenizer", "--policy.arch=vqvla", f"--policy.arch_options={VQVLA}"],
    "actioncodec-compact": ["--policy.type=actioncodec", *COMPACT],
    "actioncodec-smolvlm": [
        "--policy.type=actioncodec",
        "--policy.backbone=smolvlm",
        "--policy.vlm_model_name=tiny-random",
        "--policy.image_size=16",
    ],  # fmt: skip
    "actioncodec_pd-compact": ["--policy.type=actioncodec_pd", *COMPACT],
    "actioncodec_bar-compact": ["--policy.type=actioncodec_bar", *COMPACT],
}
SINGLE_PROCESS_REFERENCE = {"actioncodec_tokenizer", "actioncodec-compact"}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TYPES))
def test_two_processes_train_and_save_what_one_process_saves(name, tiny_dataset, rvq_tokenizer_dir, tmp_path):
    args = [*TYPES[name]]
    if name.startswith("actioncodec") and not name.startswith("actioncodec_tokenizer"):
        args.append(f"--policy.tokenizer_path={rvq_tokenizer_dir}")
    checkpoint, log = train(tiny_dataset, tmp_path / "two", 2, *args)
    losses = logged_losses(log)
    assert len(losses) == STEPS // LOG_FREQ and losses[-1] < losses[0], losses

    policy_type = TYPES[name][0].split("=", 1)[1]
    policy = get_policy_class(policy_type).from_pretrained(checkpoint)
    assert policy.config.type == policy_type and all(torch.isfinite(p).all() for p in policy.parameters())

    if name in SINGLE_PROCESS_REFERENCE:
        reference, _ = train(tiny_dataset, tmp_path / "one", 1, *args)
        files, config, shapes = checkpoint_format(checkpoint)
        ref_files, ref_config, ref_shapes = checkpoint_format(reference)
        assert files == ref_files and config == ref_config and shapes == ref_shapes
