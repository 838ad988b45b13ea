"""Tiny models and batches shared by the tests (CPU, milliseconds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from lerobot.configs.types import FeatureType, PolicyFeature

from lerobot_actioncodec.policies.actioncodec_tokenizer.configuration_actioncodec_tokenizer import (
    ActionCodecTokenizerConfig,
)
from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
    ActionCodecTokenizerPolicy,
)

ACTION_DIM = 3
FPS = 10  # chunk_length = 10 steps at 1 s
TINY = dict(
    dim=32,
    num_heads=2,
    encoder_layers=1,
    decoder_layers=1,
    codebook_size=64,
    codebook_dim=8,
    num_tokens=4,
    num_prompt_tokens=2,
    fourier_bands=4,
    clip_dim=16,
    kmeans_init=False,
    text_encoder="hashing",  # SmolLM2 (the default where installed) has its own tests
)
STATS = {"action": {"mean": np.array([0.5, -1.0, 2.0]), "std": np.array([2.0, 1.0, 0.5]),
                    "min": np.array([-7.5, -5.0, 0.0]), "max": np.array([8.5, 3.0, 4.0])}}  # fmt: skip
TASKS = ["push the cube", "open the drawer"]
BIN = Path(sys.executable).parent


# The VLA heads' tiny settings: the compact backbone (one layer fewer or more per test via overrides) and the
# built-in tiny-random SmolVLM; and lerobot-train flags for a tiny ActionCodec tokenizer.
COMPACT_HEAD = dict(
    backbone="compact", image_size=16, hidden_size=32, num_layers=2, num_heads=2, ff_mult=2, dropout=0.0, device="cpu"
)
TINY_VLM = dict(backbone="smolvlm", vlm_model_name="tiny-random", image_size=16)
TINY_TOKENIZER_ARGS = ["--policy.dim=32", "--policy.num_heads=2", "--policy.codebook_size=64", "--policy.num_tokens=4",
                       "--policy.text_encoder=hashing"]  # fmt: skip


def tiny_config(**overrides) -> ActionCodecTokenizerConfig:
    kwargs = {**TINY, "fps": FPS, "device": "cpu"}
    kwargs.update(overrides)
    kwargs.setdefault("output_features", {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))})
    return ActionCodecTokenizerConfig(**kwargs)


def tiny_policy(seed: int = 0, **overrides) -> ActionCodecTokenizerPolicy:
    torch.manual_seed(seed)
    return ActionCodecTokenizerPolicy(tiny_config(**overrides), dataset_stats=STATS)


def smooth_actions(batch: int, steps: int, dim: int = ACTION_DIM, seed: int = 0) -> torch.Tensor:
    """Raw-unit smooth chunks around the STATS mean/std: [batch, steps, dim]."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(steps) / FPS
    freq = torch.rand(batch, 1, dim, generator=g) * 1.5 + 0.2
    phase = torch.rand(batch, 1, dim, generator=g) * 6.28
    wave = torch.sin(2 * torch.pi * freq * t[None, :, None] + phase)
    mean, std = (torch.tensor(STATS["action"][k], dtype=torch.float32) for k in ("mean", "std"))
    if dim != len(mean):
        return wave.float()
    return (wave * std + mean).float()


def training_batch(batch: int = 16, seed: int = 0, shift: int = 1) -> dict:
    actions = smooth_actions(batch, FPS + shift, seed=seed)
    return {
        "action": actions,
        "action_is_pad": torch.zeros(batch, FPS + shift, dtype=torch.bool),
        "task": [TASKS[i % 2] for i in range(batch)],
    }


def train_steps(policy: torch.nn.Module, steps: int, batch: dict, lr: float = 3e-3) -> list[dict]:
    """Adam steps on one fixed batch (any of the package's policies); the logs of every step."""
    optimizer = torch.optim.Adam(policy.get_optim_params(), lr=lr)
    policy.train()
    history = []
    for _ in range(steps):
        loss, logs = policy(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(logs)
    return history


def run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run an installed console script of this venv; fail with its output on a non-zero exit."""
    proc = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{args[0]} exited {proc.returncode}\nSTDOUT:\n{proc.stdout[-3000:]}\nSTDERR:\n{proc.stderr[-6000:]}"
    )
    return proc


def parse_with_lerobot(monkeypatch, config_class: type, *argv: str):
    """argv (the script's name first) parsed by LeRobot's own CLI wrapper, `parser.wrap()`, as its scripts parse
    theirs; returns the config (a bad value makes the wrapper print the error and exit)."""
    from lerobot.configs import parser

    seen = {}

    def capture(cfg) -> None:
        seen["cfg"] = cfg

    capture.__annotations__["cfg"] = config_class  # parser.wrap reads the config class from the annotation
    monkeypatch.setattr("sys.argv", list(argv))
    parser.wrap()(capture)()
    return seen["cfg"]


def collect_metaworld_episode(root: Path, task: str = "reach-v3") -> tuple[Path, dict]:
    """One MetaWorld expert episode at 32x32, written to `root` by the console script (skips without a renderer);
    returns the root and the script's JSON summary."""
    import pytest

    from lerobot_actioncodec import rendering

    try:
        rendering.configure_renderer()
    except rendering.RenderingUnavailableError as err:
        pytest.skip(f"no MuJoCo renderer on this machine: {err}")
    proc = run_cli("actioncodec-collect-metaworld", "--root", str(root), "--tasks", task, "--episodes-per-task", "1",
                   "--image-size", "32", "--max-steps", "200", "--no-progress")  # fmt: skip
    return root, json.loads(proc.stdout[proc.stdout.index("{") :])


def lerobot_train(
    repo_id: str, root: Path, out: Path, *extra: str, steps: int = 4, save_freq: int | None = None
) -> Path:
    """lerobot-train in a subprocess, CPU, no workers; returns the last checkpoint's pretrained_model/."""
    run_cli(
        "lerobot-train",
        f"--dataset.repo_id={repo_id}",
        f"--dataset.root={root}",
        "--policy.device=cpu",
        f"--steps={steps}",
        "--batch_size=8",
        "--num_workers=0",
        f"--save_freq={save_freq or steps}",
        f"--log_freq={steps}",
        f"--output_dir={out}",
        *extra,
    )
    return out / "checkpoints" / "last" / "pretrained_model"


# The policies' test inputs: two cameras of different sizes, a 2-D state, 3-D actions in 10-step chunks.
POLICY_FEATURES = {
    "input_features": {
        "observation.images.front": PolicyFeature(FeatureType.VISUAL, (3, 24, 24)),
        "observation.images.wrist": PolicyFeature(FeatureType.VISUAL, (3, 16, 16)),
        "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
    },
    "output_features": {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
}


def policy_batch(size: int = 4, tasks: list[str] | None = None) -> dict:
    """A batch matching POLICY_FEATURES; tasks default to alternating TASKS."""
    g = torch.Generator().manual_seed(1)
    return {
        "observation.images.front": torch.rand(size, 3, 24, 24, generator=g),
        "observation.images.wrist": torch.rand(size, 3, 16, 16, generator=g),
        "observation.state": torch.randn(size, 2, generator=g),
        "action": smooth_actions(size, FPS),
        "task": tasks if tasks is not None else [TASKS[i % 2] for i in range(size)],
    }
