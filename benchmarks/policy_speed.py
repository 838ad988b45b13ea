"""Chunk latency and control rate of the `actioncodec` policy on this machine's CPU, per backbone.

A default-size (untrained) tokenizer and policy on a LIBERO-like input: one 128 x 128 camera, 8-D state,
7-D actions at 20 Hz in 1 s chunks (16 tokens over 2,048 codes). Prints, at batch 1, the time to predict one
chunk (prefix, 16 cached decoding steps, tokenizer decode) and the actions per second that allows when the
whole chunk is executed, and the training step time at batch 16 (model only, no data loading).
Usage: python benchmarks/policy_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from _timing import timed, training_step
from lerobot.configs.types import FeatureType, PolicyFeature

from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import BACKBONE_CHOICES, ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy
from lerobot_actioncodec.policies.actioncodec_tokenizer.configuration_actioncodec_tokenizer import (
    ActionCodecTokenizerConfig,
)
from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
    ActionCodecTokenizerPolicy,
)

FPS, ACTION_DIM, STATE_DIM, IMAGE = 20, 7, 8, 128


def default_tokenizer(directory: Path) -> Path:
    cfg = ActionCodecTokenizerConfig(
        fps=FPS, device="cpu", output_features={"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))}
    )
    stats = {"action": {"mean": np.zeros(ACTION_DIM), "std": np.ones(ACTION_DIM)}}
    ActionCodecTokenizerPolicy(cfg, dataset_stats=stats).save_pretrained(directory)
    return directory


def batch_of(size: int, chunk: int) -> dict:
    return {
        "observation.image": torch.rand(size, 3, IMAGE, IMAGE),
        "observation.state": torch.randn(size, STATE_DIM),
        "action": torch.randn(size, chunk, ACTION_DIM),
        "task": ["put the bowl on the plate"] * size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    features = {
        "input_features": {
            "observation.image": PolicyFeature(FeatureType.VISUAL, (3, IMAGE, IMAGE)),
            "observation.state": PolicyFeature(FeatureType.STATE, (STATE_DIM,)),
        },
        "output_features": {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
    }
    print(f"{args.threads} CPU threads; 1 camera {IMAGE}x{IMAGE}, {STATE_DIM}-D state, {ACTION_DIM}-D actions at {FPS} Hz")
    print("| backbone | parameters | chunk latency, batch 1 | actions/s (whole chunk executed) | train step, batch 16 |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = default_tokenizer(Path(tmp) / "tokenizer")
        for backbone in BACKBONE_CHOICES:
            cfg = ActionCodecConfig(tokenizer_path=str(tokenizer), backbone=backbone, device="cpu", **features)
            policy = ActionCodecPolicy(cfg)
            params = sum(p.numel() for p in policy.backbone.parameters())
            chunk = cfg.spec.chunk_length
            policy.eval()
            single = batch_of(1, chunk)
            latency = timed(lambda: policy.predict_action_chunk(single), args.repeats)
            policy.train()
            optimizer = cfg.get_optimizer_preset().build(policy.get_optim_params())
            train = timed(training_step(policy, optimizer, batch_of(16, chunk)), max(2, args.repeats // 2))
            print(f"| {backbone} | {params / 1e6:.1f} M | {latency * 1e3:.0f} ms | {chunk / latency:.0f} | {train * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()
