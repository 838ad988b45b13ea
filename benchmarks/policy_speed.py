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

With `--tokenizer LABEL=DIR` (repeatable) it compares saved tokenizers instead, under the heads of --heads (default
ar) on the compact backbone: each policy is built on DIR (any kind the package saves: a fitted binning or FAST
folder, a VQ-VLA, NAC or ActionCodec checkpoint), with its action size and chunk, so the time per chunk and per
training step follow the tokens per chunk; ratios are to the first tokenizer's, in the same run. `--image-size`
and `--train-batch` set the policy's image size and training batch (e.g. 64 and 32, as
configs/protocol/metaworld_policy.json).
Usage: python benchmarks/policy_speed.py [--threads 2] [--backbones compact,smolvlm] [--heads ar,pd,bar,ki]
       [--device cuda] [--tokenizer binning=DIR --tokenizer actioncodec=DIR [--image-size 64 --train-batch 32]]
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
from lerobot_actioncodec.cli.eval_report import run_spec
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
from lerobot_actioncodec.tokenizers.registry import load_action_tokenizer

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


def default_tokenizer(directory: Path) -> Path:
    cfg = ActionCodecTokenizerConfig(
        fps=FPS,
        rvq_levels=RVQ_LEVELS,
        device="cpu",
        output_features={"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
    )
    ActionCodecTokenizerPolicy(cfg, dataset_stats=action_stats(ACTION_DIM)).save_pretrained(directory)
    return directory


def smolvlm2_256m_directory(directory: Path) -> Path:
    """A local model directory: the 256M architecture's config and a byte-level tokenizer (no weights)."""
    tokenizer = byte_level_tokenizer()
    config = SmolVLMConfig(**SMOLVLM2_256M, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
                           pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    config.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def policy_features(action_dim: int = ACTION_DIM) -> dict:
    """The policies' input and output features: one camera, STATE_DIM-D state, `action_dim`-D actions."""
    return {
        "input_features": {
            "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 224, 224)),
            "observation.state": PolicyFeature(FeatureType.STATE, (STATE_DIM,)),
        },
        "output_features": {"action": PolicyFeature(FeatureType.ACTION, (action_dim,))},
    }


def batch_of(size: int, chunk: int, image: int, device: str, action_dim: int = ACTION_DIM) -> dict:
    return {
        "observation.image": torch.rand(size, 3, image, image, device=device),
        "observation.state": torch.randn(size, STATE_DIM, device=device),
        "action": torch.randn(size, chunk, action_dim, device=device),
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
    parser.add_argument("--heads", help=f"default: {','.join(HEADS)}; with --tokenizer, ar")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    parser.add_argument("--tokenizer", action="append", type=labelled_directory, metavar="LABEL=DIR",
                        help="compare saved tokenizers on the compact backbone instead of the backbones")  # fmt: skip
    parser.add_argument("--image-size", type=int, help="the policy's image size (default: the backbone's)")
    parser.add_argument("--train-batch", type=int, help="the training step's batch (default: per backbone)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"{args.threads} CPU threads"
    if args.tokenizer:
        compare_tokenizers(args, where)
        return
    features = policy_features()
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
                **image_setting(args.image_size),
            }
            batch = args.train_batch or TRAIN_BATCH[backbone]
            baseline = None
            for head in (args.heads or ",".join(HEADS)).split(","):
                row = measure_head(head, str(tokenizer), settings, features, batch, args.repeats, args.device)
                baseline = row["latency"] if head == "ar" else baseline
                ratio = f"{baseline / row['latency']:.1f}x" if baseline is not None else "n/a (run with ar)"
                print(f"| {backbone} | {head} | {row['params'] / 1e6:.1f} M | {row['passes']} "
                      f"| {row['latency'] * 1e3:.0f} ms | {ratio} | {row['chunk'] / row['latency']:.0f} "
                      f"| {row['rtc'] * 1e3:.0f} ms | {milliseconds(row['one_by_one'])} "
                      f"| {row['train'] * 1e3:.0f} ms at batch {batch} |", flush=True)  # fmt: skip


def labelled_directory(value: str) -> tuple[str, Path]:
    """`LABEL=DIR` of --tokenizer, read as the package's CLIs read --run; here the label is required."""
    label, directory = run_spec(value)
    if not value.rpartition("=")[0] or not directory.is_dir():
        raise argparse.ArgumentTypeError(f"--tokenizer {value!r}: expected LABEL=DIR with DIR a saved tokenizer folder")
    return label, directory


def image_setting(size: int | None) -> dict:
    return {} if size is None else {"image_size": size}


def compare_tokenizers(args: argparse.Namespace, where: str) -> None:
    """One row per tokenizer and head on the compact backbone; ratios to the first tokenizer's, same head."""
    batch = args.train_batch or TRAIN_BATCH["compact"]
    settings = {**BACKBONE_SETTINGS["compact"], **image_setting(args.image_size)}
    print(f"{where}; compact backbone, 1 camera, {STATE_DIM}-D state; training step at batch {batch}")
    print("| tokenizer | head | tokens per chunk | parameters | chunk latency, batch 1 | this / first's "
          "| train step | this / first's |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    first: dict[str, dict] = {}
    for label, directory in args.tokenizer:
        action_dim = load_action_tokenizer(directory).action_dim
        for head in (args.heads or "ar").split(","):
            row = measure_head(head, str(directory), settings, policy_features(action_dim), batch, args.repeats,
                               args.device, action_dim)  # fmt: skip
            base = first.setdefault(head, row)
            print(f"| {label} | {head} | {row['tokens']} | {row['params'] / 1e6:.1f} M "
                  f"| {row['latency'] * 1e3:.0f} ms | {row['latency'] / base['latency']:.2f}x "
                  f"| {row['train'] * 1e3:.0f} ms | {row['train'] / base['train']:.2f}x |", flush=True)  # fmt: skip


def milliseconds(seconds: float | None) -> str:
    return "n/a (guided flow)" if seconds is None else f"{seconds * 1e3:.0f} ms"


def measure_head(
    head: str,
    tokenizer: str,
    settings: dict,
    features: dict,
    train_batch: int,
    repeats: int,
    device: str,
    action_dim: int = ACTION_DIM,
) -> dict:
    """Parameters, passes, chunk latency at batch 1 and a training step's time of one head on one backbone."""
    config_class, policy_class = HEADS[head]
    cfg = config_class(tokenizer_path=tokenizer, device=device, **settings, **features)
    policy = policy_class(cfg, dataset_stats=action_stats(action_dim)).to(device)
    chunk, image = cfg.chunk_length, cfg.image_size
    policy.eval()
    single = batch_of(1, chunk, image, device, action_dim)
    latency = timed(synchronized(lambda: policy.predict_action_chunk(single), device), repeats)
    leftover = torch.randn(chunk // 2, action_dim, device=device)  # [H, D], as LeRobot's RTC engine passes it
    rtc_step = lambda: policy.predict_action_chunk(single, inference_delay=2, prev_chunk_left_over=leftover)  # noqa: E731
    rtc = timed(synchronized(rtc_step, device), repeats)
    one_by_one = None
    if head != "ki":  # what an RTC step cost before the candidates shared one encoded observation
        temperatures = [None] + [cfg.rtc_temperature] * (cfg.rtc_candidates - 1)
        each = lambda: [policy.predict_chunk(single, t) for t in temperatures]  # noqa: E731
        one_by_one = timed(synchronized(each, device), repeats)
    policy.train()
    optimizer = cfg.get_optimizer_preset().build(policy.get_optim_params())
    step = training_step(policy, optimizer, batch_of(train_batch, chunk, image, device, action_dim))
    train = timed(synchronized(step, device), max(2, repeats // 2))
    params = sum(p.numel() for p in policy.parameters())
    return {"params": params, "passes": decoding_passes(policy), "latency": latency, "train": train, "chunk": chunk,
            "rtc": rtc, "one_by_one": one_by_one, "tokens": policy.layout.positions}  # fmt: skip


def action_stats(action_dim: int) -> dict:
    return {"action": {"mean": np.zeros(action_dim), "std": np.ones(action_dim)}}


if __name__ == "__main__":
    main()
