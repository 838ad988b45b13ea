"""Encode / decode time per chunk of the default-size ActionCodec tokenizer on this machine's CPU.

Prints milliseconds per chunk at batch 1 and batch 256 (1 s, 7-D chunks at 20 Hz), and the training step
rate of the model alone at batch 64 (forward of both TCL chunks, all default losses, backward, AdamW),
which excludes LeRobot's data loading. Usage: python benchmarks/tokenizer_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse

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

FPS, DIM = 20, 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ActionCodecTokenizerConfig(
        fps=FPS, device="cpu", output_features={"action": PolicyFeature(FeatureType.ACTION, (DIM,))}
    )
    stats = {"action": {"mean": np.zeros(DIM), "std": np.ones(DIM)}}
    policy = ActionCodecTokenizerPolicy(cfg, dataset_stats=stats)
    tok = policy.tokenizer.eval()
    params = sum(p.numel() for p in tok.parameters())
    print(f"ActionCodec tokenizer, default size: {params / 1e6:.2f} M parameters, {args.threads} CPU threads")
    print(
        f"chunk: {tok.chunk_length} steps x {tok.action_dim} dims -> "
        f"{tok.num_tokens} tokens / {tok.codebook_size} codes"
    )
    print("| batch | encode ms/chunk | decode ms/chunk |")
    print("|---:|---:|---:|")
    for batch in (1, 256):
        actions = torch.randn(batch, tok.chunk_length, DIM)
        tokens = tok.encode(actions)
        repeats = 50 if batch == 1 else 5
        enc = timed(lambda: tok.encode(actions), repeats) / batch * 1e3
        dec = timed(lambda: tok.decode(tokens), repeats) / batch * 1e3
        print(f"| {batch} | {enc:.3f} | {dec:.3f} |")

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
