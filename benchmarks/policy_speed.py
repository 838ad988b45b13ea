"""Chunk latency and control rate of the autoregressive (AR), parallel-decoding (PD), block-wise autoregressive
(BAR) and knowledge-insulation (KI) heads on this machine's CPU (or a GPU), per backbone, measured in one run.

A default-size (untrained) tokenizer and policies on a LIBERO-like input: one camera, 8-D state, 7-D actions at
20 Hz in 1 s chunks (16 tokens over 2,048 codes; the tokenizer has 3 RVQ levels). AR and PD read its VQ form, as in
the paper; BAR reads every level. Prints, at batch 1, the time to predict one chunk (prompt, token decoding,
tokenizer decode), its ratio to AR's on the same backbone, the actions per second that allows when the whole chunk
is executed, the time of one real-time-chunking step (`predict_action_chunk` with a leftover, as
`lerobot-rollout --inference.type=rtc` calls it: the token heads decode rtc_candidates = 4 chunks from one encoded
observation, the sampled ones in one batch) next to the same 4 chunks predicted one after another (each encoding the
observation again), and the training step time (model only, no data loading). AR decodes 16 tokens one cached step at a
time; PD predicts all 16 in one expert pass; BAR runs one pass per level (3); KI runs its flow expert once per
integration step (10, pi0.5's default) and decodes no token, and trains the token loss and the flow loss together.

Backbones: `compact` at its defaults (128 px camera), and `smolvlm` with SmolVLM2-256M's architecture (the
paper's validation model; 224 px camera, full fine-tuning), randomly initialised because no weights can be
downloaded here; speed does not depend on the weights. The 2.2B default does not fit CPU training in 24 GiB.
Usage: python benchmarks/policy_speed.py [--threads 2] [--backbones compact,smolvlm] [--heads ar,pd,bar,ki]
       [--device cuda]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _timing import timed, training_step
from lerobot.configs.types import FeatureType, PolicyFeature
from transformers import SmolVLMConfig

from lerobot_actioncodec.backbones.tiny_smolvlm import byte_level_tokenizer
from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import BACKBONE_CHOICES, ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy
from lerobot_actioncodec.policies.actioncodec_bar.configuration_actioncodec_bar import ActionCodecBARConfig
from lerobot_actioncodec.policies.actioncodec_bar.modeling_actioncodec_bar import ActionCodecBARPolicy
from lerobot_actioncodec.policies.actioncodec_ki.configuration_actioncodec_ki import ActionCodecKIConfig
from lerobot_actioncodec.policies.actioncodec_ki.modeling_actioncodec_ki import ActionCodecKIPolicy
from lerobot_actioncodec.policies.actioncodec_pd.configuration_actioncodec_pd import ActionCodecPDConfig
from lerobot_actioncodec.policies.actioncodec_pd.modeling_actioncodec_pd import ActionCodecPDPolicy
from lerobot_actioncodec.policies.actioncodec_tokenizer.configuration_actioncodec_tokenizer import (
    ActionCodecTokenizerConfig,
)
from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
    ActionCodecTokenizerPolicy,
)

FPS, ACTION_DIM, STATE_DIM, CODEBOOK = 20, 7, 8, 2048
# SmolVLM2-256M's published architecture: SigLIP-B/16 at 512 px, pixel shuffle x4 (64 image tokens), and
# SmolLM2-135M (30 layers, d=576) as the language model; the vocabulary already counts the action tokens.
SMOLVLM2_256M = {
    "vision_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                      "num_attention_heads": 12, "image_size": 512, "patch_size": 16},
    "text_config": {"model_type": "llama", "vocab_size": 49280 + CODEBOOK, "hidden_size": 576,
                    "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
                    "num_key_value_heads": 3, "max_position_embeddings": 8192, "rope_theta": 100000.0},
    "scale_factor": 4,
}  # fmt: skip
BACKBONE_SETTINGS = {
    "compact": {"backbone": "compact"},
    "smolvlm": {"backbone": "smolvlm", "vlm_pretrained_weights": False},  # vlm_model_name: a local directory
}
TRAIN_BATCH = {"compact": 16, "smolvlm": 4}
RVQ_LEVELS = 3
HEADS = {
    "ar": (ActionCodecConfig, ActionCodecPolicy),
    "pd": (ActionCodecPDConfig, ActionCodecPDPolicy),
    "bar": (ActionCodecBARConfig, ActionCodecBARPolicy),
    "ki": (ActionCodecKIConfig, ActionCodecKIPolicy),
}
ACTION_STATS = {"action": {"mean": np.zeros(ACTION_DIM), "std": np.ones(ACTION_DIM)}}


def default_tokenizer(directory: Path) -> Path:
    cfg = ActionCodecTokenizerConfig(
        fps=FPS,
        rvq_levels=RVQ_LEVELS,
        device="cpu",
        output_features={"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
    )
    ActionCodecTokenizerPolicy(cfg, dataset_stats=ACTION_STATS).save_pretrained(directory)
    return directory


def smolvlm2_256m_directory(directory: Path) -> Path:
    """A local model directory: the 256M architecture's config and a byte-level tokenizer (no weights)."""
    tokenizer = byte_level_tokenizer()
    config = SmolVLMConfig(**SMOLVLM2_256M, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
                           pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    config.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def policy_features() -> dict:
    """The policies' input and output features: one camera, STATE_DIM-D state, ACTION_DIM-D actions."""
    return {
        "input_features": {
            "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 224, 224)),
            "observation.state": PolicyFeature(FeatureType.STATE, (STATE_DIM,)),
        },
        "output_features": {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
    }


def batch_of(size: int, chunk: int, image: int, device: str) -> dict:
    return {
        "observation.image": torch.rand(size, 3, image, image, device=device),
        "observation.state": torch.randn(size, STATE_DIM, device=device),
        "action": torch.randn(size, chunk, ACTION_DIM, device=device),
        "task": ["put the bowl on the plate"] * size,
    }


def synchronized(fn: Callable[[], object], device: str) -> Callable[[], None]:
    """`fn`, then wait for the GPU's queued work, so that a timing covers the work and not its launch."""

    def call() -> None:
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    return call


def decoding_passes(policy: ActionCodecPolicy) -> int:
    """Forward passes per chunk after the prompt: AR one per token, PD one, BAR one per level, KI one per
    integration step."""
    if isinstance(policy, ActionCodecKIPolicy):
        return policy.config.num_inference_steps
    if isinstance(policy, ActionCodecBARPolicy):
        return policy.config.passes
    if isinstance(policy, ActionCodecPDPolicy):
        return 1
    return policy.layout.positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backbones", default=",".join(BACKBONE_CHOICES[::-1]))
    parser.add_argument("--heads", default=",".join(HEADS))
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    features = policy_features()
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"{args.threads} CPU threads"
    print(f"{where}; 1 camera, {STATE_DIM}-D state, {ACTION_DIM}-D actions at {FPS} Hz")
    print("| backbone | head | parameters | passes after the prompt | chunk latency, batch 1 | AR latency / this "
          "| actions/s (whole chunk executed) | RTC step | 4 chunks one by one | train step |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = default_tokenizer(Path(tmp) / "tokenizer")
        vlm = smolvlm2_256m_directory(Path(tmp) / "smolvlm2_256m")
        for backbone in args.backbones.split(","):
            settings = {
                **BACKBONE_SETTINGS[backbone],
                **({"vlm_model_name": str(vlm)} if backbone == "smolvlm" else {}),
            }
            baseline = None
            for head in args.heads.split(","):
                row = measure_head(head, str(tokenizer), settings, features, TRAIN_BATCH[backbone], args.repeats,
                                   args.device)  # fmt: skip
                baseline = row["latency"] if head == "ar" else baseline
                ratio = f"{baseline / row['latency']:.1f}x" if baseline is not None else "n/a (run with ar)"
                print(f"| {backbone} | {head} | {row['params'] / 1e6:.1f} M | {row['passes']} "
                      f"| {row['latency'] * 1e3:.0f} ms | {ratio} | {row['chunk'] / row['latency']:.0f} "
                      f"| {row['rtc'] * 1e3:.0f} ms | {milliseconds(row['one_by_one'])} "
                      f"| {row['train'] * 1e3:.0f} ms at batch {TRAIN_BATCH[backbone]} |", flush=True)  # fmt: skip


def milliseconds(seconds: float | None) -> str:
    return "n/a (guided flow)" if seconds is None else f"{seconds * 1e3:.0f} ms"


def measure_head(
    head: str, tokenizer: str, settings: dict, features: dict, train_batch: int, repeats: int, device: str
) -> dict:
    """Parameters, passes, chunk latency at batch 1 and a training step's time of one head on one backbone."""
    config_class, policy_class = HEADS[head]
    cfg = config_class(tokenizer_path=tokenizer, device=device, **settings, **features)
    policy = policy_class(cfg, dataset_stats=ACTION_STATS).to(device)
    chunk, image = cfg.chunk_length, cfg.image_size
    policy.eval()
    single = batch_of(1, chunk, image, device)
    latency = timed(synchronized(lambda: policy.predict_action_chunk(single), device), repeats)
    leftover = torch.randn(chunk // 2, ACTION_DIM, device=device)  # [H, D], as LeRobot's RTC engine passes it
    rtc_step = lambda: policy.predict_action_chunk(single, inference_delay=2, prev_chunk_left_over=leftover)  # noqa: E731
    rtc = timed(synchronized(rtc_step, device), repeats)
    one_by_one = None
    if head != "ki":  # what an RTC step cost before the candidates shared one encoded observation
        temperatures = [None] + [cfg.rtc_temperature] * (cfg.rtc_candidates - 1)
        each = lambda: [policy.predict_chunk(single, t) for t in temperatures]  # noqa: E731
        one_by_one = timed(synchronized(each, device), repeats)
    policy.train()
    optimizer = cfg.get_optimizer_preset().build(policy.get_optim_params())
    step = training_step(policy, optimizer, batch_of(train_batch, chunk, image, device))
    train = timed(synchronized(step, device), max(2, repeats // 2))
    params = sum(p.numel() for p in policy.parameters())
    return {"params": params, "passes": decoding_passes(policy), "latency": latency, "train": train, "chunk": chunk,
            "rtc": rtc, "one_by_one": one_by_one}  # fmt: skip


if __name__ == "__main__":
    main()
