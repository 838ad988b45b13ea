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

import torch
from _timing import loss_step, timed
from policy_speed import ACTION_DIM, FPS, batch_of, policy_features

from lerobot_actioncodec.data.synthetic import SyntheticSpec, generate_episodes
from lerobot_actioncodec.evaluation import adjacent_chunk_pairs
from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy, token_cross_entropy
from lerobot_actioncodec.tokenizers.fast import FastTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = SyntheticSpec(num_episodes=40, fps=FPS, action_dim=ACTION_DIM)
    chunks = adjacent_chunk_pairs([actions for actions, _ in generate_episodes(spec)], FPS)[0].float()
    with tempfile.TemporaryDirectory() as tmp:
        FastTokenizer.fit(chunks).save_pretrained(Path(tmp) / "fast")
        cfg = ActionCodecConfig(
            tokenizer_path=str(Path(tmp) / "fast"), backbone="compact", device="cpu", **policy_features()
        )
        policy = ActionCodecPolicy(cfg)
    batch = batch_of(args.batch, cfg.chunk_length, cfg.image_size, "cpu")
    batch["action"] = chunks[torch.randperm(len(chunks))[: args.batch]]
    optimizer = cfg.get_optimizer_preset().build(policy.get_optim_params())

    def whole_budget_loss() -> torch.Tensor:
        inputs, targets = policy.target_tokens(batch["action"])
        return token_cross_entropy(policy.backbone(policy._prefix(batch), inputs), targets)[0]

    def cut_loss() -> torch.Tensor:
        return policy(batch)[0]

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
    baseline = timed(loss_step(whole_budget_loss, optimizer), args.repeats)
    measured = timed(loss_step(cut_loss, optimizer), args.repeats)
    print(f"| whole budget | {baseline * 1e3:.0f} ms |")
    print(f"| cut after the batch's longest (forward) | {measured * 1e3:.0f} ms ({baseline / measured:.1f}x faster) |")


if __name__ == "__main__":
    main()
