"""actioncodec-tokenizer-metrics: score a trained ActionCodec tokenizer on a local LeRobotDataset.

Prints a JSON object (reconstruction MAE/MSE in raw units and relative to the actions' mean absolute
deviation, overlap rate between chunks one step apart, codebook usage and perplexity, artifact entropy)
and optionally writes it to --output. --report writes a PNG with true vs decoded action curves for a few chunks
and the codebook usage histogram.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ..evaluation import adjacent_chunk_pairs, load_episode_actions, score_tokenized, tokenize_chunks
from ..report import plot_tokenizer_report
from ..tokenizers.actioncodec import ActionCodecTokenizer


def main(argv: list[str] | None = None) -> None:
    run(argv)


def run(argv: list[str] | None = None) -> dict[str, float]:
    """Parse arguments, score the tokenizer, print (and optionally write) the metrics; return them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint's pretrained_model/ directory")
    parser.add_argument("--dataset.repo_id", dest="repo_id", required=True)
    parser.add_argument("--dataset.root", dest="root", required=True)
    parser.add_argument("--embodiment", default=None, help="default: the tokenizer's training embodiment")
    parser.add_argument("--max-chunks", type=int, default=2000)
    parser.add_argument("--noise-fraction", type=float, default=0.02, help="artifact-entropy noise, x action std")
    parser.add_argument("--output", type=Path, default=None, help="also write the metrics JSON here")
    parser.add_argument("--report", type=Path, default=None, help="also write a PNG report here")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    tokenizer = ActionCodecTokenizer.from_pretrained(args.checkpoint)
    _, spec = tokenizer.resolve(args.embodiment)
    data = load_episode_actions(args.repo_id, args.root)
    if abs(data.fps - spec.fps) > 1e-6:
        raise ValueError(f"dataset fps={data.fps} but the tokenizer's embodiment has fps={spec.fps}; expected equal")
    chunks, next_chunks = adjacent_chunk_pairs(data.actions, spec.chunk_length, max_pairs=args.max_chunks)

    def encode(actions: torch.Tensor) -> torch.Tensor:
        return tokenizer.encode(actions, args.embodiment)

    def decode(tokens: torch.Tensor) -> torch.Tensor:
        return tokenizer.decode(tokens, args.embodiment)

    tokenized = tokenize_chunks(encode, decode, chunks, next_chunks)
    metrics = score_tokenized(tokenized, encode, tokenizer.codebook_size, noise_fraction=args.noise_fraction)
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    if args.report is not None:
        plot_tokenizer_report(tokenized, tokenizer.codebook_size, args.report, spec.fps, spec.action_names, metrics)
        print(f"report: {args.report}")
    return metrics


if __name__ == "__main__":
    main()
