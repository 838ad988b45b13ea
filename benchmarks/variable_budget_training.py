"""Training step of the autoregressive head on FAST tokens: cut after the batch's longest sequence (what `forward`
does) against teacher forcing over the whole budget (twice the longest sequence FAST saw when it was fitted), in
one run on the same policy, batch and optimizer.

FAST's sequences vary in length, so the head pads every chunk to a fixed budget; positions after the end token are
never trained on, and under a causal backbone cutting them changes no kept logit. The script prints both losses
(equal up to float rounding), the budget, the batch's longest sequence and both step times.
Data: smooth synthetic trajectories (7-D actions at 20 Hz, 1 s chunks) from lerobot_actioncodec.data.synthetic;
FAST fitted on their chunks; the compact backbone at its defaults.
Usage: python benchmarks/variable_budget_training.py [--threads 2] [--batch 32] [--repeats 4]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from _timing import timed
from lerobot.configs.types import FeatureType, PolicyFeature
from policy_speed import batch_of

from lerobot_actioncodec.data.synthetic import SyntheticSpec, generate_episodes
from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy, token_cross_entropy
from lerobot_actioncodec.tokenizers.fast import FastTokenizer

FPS, ACTION_DIM, STATE_DIM = 20, 7, 8


def chunks_of(episodes: list[tuple[np.ndarray, str]], length: int) -> torch.Tensor:
    """Every window of `length` steps of every episode, [N, length, D]."""
    windows = [actions[i : i + length] for actions, _ in episodes for i in range(len(actions) - length + 1)]
    return torch.as_tensor(np.stack(windows), dtype=torch.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    chunks = chunks_of(generate_episodes(SyntheticSpec(num_episodes=40, fps=FPS, action_dim=ACTION_DIM)), FPS)
    features = {
        "input_features": {
            "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 224, 224)),
            "observation.state": PolicyFeature(FeatureType.STATE, (STATE_DIM,)),
        },
        "output_features": {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
    }
    with tempfile.TemporaryDirectory() as tmp:
        FastTokenizer.fit(chunks).save_pretrained(Path(tmp) / "fast")
        cfg = ActionCodecConfig(tokenizer_path=str(Path(tmp) / "fast"), backbone="compact", device="cpu", **features)
        policy = ActionCodecPolicy(cfg)
    batch = batch_of(args.batch, cfg.chunk_length, cfg.image_size, "cpu")
    batch["action"] = chunks[torch.randperm(len(chunks))[: args.batch]]
    optimizer = cfg.get_optimizer_preset().build(policy.get_optim_params())

    def whole_budget_loss() -> torch.Tensor:
        inputs, targets = policy.target_tokens(batch["action"])
        return token_cross_entropy(policy.backbone(policy._prefix(batch), inputs), targets)[0]

    def cut_loss() -> torch.Tensor:
        return policy(batch)[0]

    def step(loss_fn):
        def run() -> None:
            optimizer.zero_grad()
            loss_fn().backward()
            optimizer.step()

        return run

    policy.eval()  # no dropout: the two losses compare exactly
    with torch.no_grad():
        whole, cut = whole_budget_loss(), cut_loss()
    policy.train()
    lengths = policy.tokenizer.encode(batch["action"]).lengths
    print(f"{args.threads} CPU threads; FAST on synthetic 7-D chunks of 1 s at {FPS} Hz, compact backbone, "
          f"batch {args.batch}")  # fmt: skip
    print(f"budget {policy.layout.positions} positions (max_action_tokens {policy.layout.max_tokens} + end token); "
          f"batch's tokens per chunk: mean {lengths.float().mean():.1f}, longest {int(lengths.max())}")  # fmt: skip
    print(f"loss over the whole budget {whole.item():.6f}, cut after the longest {cut.item():.6f}")
    print("| teacher forcing | train step |")
    print("|---|---:|")
    baseline = timed(step(whole_budget_loss), args.repeats)
    measured = timed(step(cut_loss), args.repeats)
    print(f"| whole budget | {baseline * 1e3:.0f} ms |")
    print(f"| cut after the batch's longest (forward) | {measured * 1e3:.0f} ms ({baseline / measured:.1f}x faster) |")


if __name__ == "__main__":
    main()
