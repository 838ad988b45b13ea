"""Encode / decode time per chunk of the learned tokenizers on this machine's CPU, in one run.

ActionCodec (default size, the CPU preset's network) next to VQ-VLA and NAC (their default settings), all on
the same 1 s, 7-D chunks at 20 Hz: milliseconds per chunk at batch 1 and batch 256 through the shared
`ActionTokenizer` interface, and each peer's batch-1 time as a multiple of ActionCodec's. Then ActionCodec's own
tensor API (`ActionCodecTokenizer.encode` / `.decode`, what a policy calls), and the training step rate of the
model alone at batch 64 (forward of both TCL chunks, all default losses, backward, AdamW), which excludes
LeRobot's data loading. Usage: python benchmarks/tokenizer_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import numpy as np
import torch
from _timing import timed, training_step
from lerobot.configs.types import FeatureType, PolicyFeature

from lerobot_actioncodec.policies.actioncodec_tokenizer.configuration_actioncodec_tokenizer import (
    ActionCodecTokenizerConfig,
)
from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
    ActionCodecTokenizerPolicy,
)
from lerobot_actioncodec.tokenizers.interface import ActionTokenizer
from lerobot_actioncodec.tokenizers.nac import NACSettings, NACTokenizer
from lerobot_actioncodec.tokenizers.registry import ActionCodecActionTokenizer
from lerobot_actioncodec.tokenizers.vqvla import VQVLASettings, VQVLATokenizer

FPS, DIM = 20, 7


def median_ms(fn: Callable[[], object], repeats: int, rounds: int = 5) -> float:
    """Median over `rounds` of the mean time per call: robust to another process taking the CPU for a moment."""
    return statistics.median(timed(fn, repeats) for _ in range(rounds)) * 1e3


def interface_times(tokenizer: ActionTokenizer, batch: int) -> tuple[float, float]:
    """(encode, decode) ms per chunk through the shared interface."""
    actions = torch.randn(batch, FPS, DIM)
    tokens = tokenizer.encode(actions)
    repeats = 40 if batch == 1 else 2
    return (median_ms(lambda: tokenizer.encode(actions), repeats) / batch,
            median_ms(lambda: tokenizer.decode(tokens), repeats) / batch)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ActionCodecTokenizerConfig(  # the hashing text side: SmolLM2's is cached per task, so it costs the same
        fps=FPS,
        device="cpu",
        text_encoder="hashing",
        output_features={"action": PolicyFeature(FeatureType.ACTION, (DIM,))},
    )
    stats = {"action": {"mean": np.zeros(DIM), "std": np.ones(DIM)}}
    policy = ActionCodecTokenizerPolicy(cfg, dataset_stats=stats)
    tok = policy.tokenizer.eval()
    mean, std = torch.zeros(DIM), torch.ones(DIM)
    tokenizers: dict[str, ActionTokenizer] = {
        "actioncodec": ActionCodecActionTokenizer(tok, {}),
        "vqvla": VQVLATokenizer(VQVLASettings(FPS, DIM), mean, std),
        "nac": NACTokenizer(NACSettings(FPS, DIM), mean, std),
    }
    print(f"{args.threads} CPU threads; chunk: {FPS} steps x {DIM} dims; torch {torch.__version__}")
    print("| tokenizer | parameters | tokens | enc ms b1 | dec ms b1 | enc+dec ms b1 | x ActionCodec | "
          "enc ms b256 | dec ms b256 |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    reference = None
    for name, tokenizer in tokenizers.items():
        module = tok if name == "actioncodec" else tokenizer.model
        params = sum(p.numel() for p in module.parameters())
        enc1, dec1 = interface_times(tokenizer, 1)
        enc256, dec256 = interface_times(tokenizer, 256)
        reference = reference or enc1 + dec1
        print(f"| {name} | {params / 1e6:.2f} M | {tokenizer.fixed_length} | {enc1:.3f} | {dec1:.3f} | "
              f"{enc1 + dec1:.3f} | {(enc1 + dec1) / reference:.1f} | {enc256:.4f} | {dec256:.4f} |")  # fmt: skip

    actions = torch.randn(1, tok.chunk_length, DIM)
    ids = tok.encode(actions)
    enc = median_ms(lambda: tok.encode(actions), 100)
    dec = median_ms(lambda: tok.decode(ids), 100)
    print(f"ActionCodecTokenizer tensor API, batch 1: encode {enc:.3f} ms + decode {dec:.3f} ms = {enc + dec:.3f} ms")

    policy.train()
    optimizer = cfg.get_optimizer_preset().build(policy.get_optim_params())
    t = torch.arange(FPS + 1) / FPS
    batch = {
        "action": torch.sin(t[None, :, None] * torch.rand(64, 1, DIM) * 6 + torch.rand(64, 1, DIM) * 6),
        "action_is_pad": torch.zeros(64, FPS + 1, dtype=torch.bool),
        "task": ["push the cube", "open the drawer"] * 32,
    }
    seconds = timed(training_step(policy, optimizer, batch), args.train_steps)
    print(f"training, model only, batch 64: {1 / seconds:.2f} steps/s ({seconds * 1e3:.0f} ms/step)")


if __name__ == "__main__":
    main()
