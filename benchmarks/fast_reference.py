"""The package's FAST against LeRobot's shipped reference (molmoact2's `UniversalActionProcessor`) on the held-out
chunks of a LeRobotDataset: tokens per chunk and reconstruction error of both, each fitted on the training
episodes' chunks in the same [-1, 1] units. Usage:
  R=outputs/tokenizer_benchmark/metaworld
  python benchmarks/fast_reference.py --dataset.repo_id local/metaworld_corpus_actions --dataset.root $R/actions \\
      --chunk-length 40
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch
from lerobot.policies.molmoact2.molmoact2_hf_model.action_tokenizer import UniversalActionProcessor

from lerobot_actioncodec.evaluation import benchmark_chunks, load_episode_actions
from lerobot_actioncodec.metrics import reconstruction_errors
from lerobot_actioncodec.tokenizers.fast import FastTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset.repo_id", dest="repo_id", required=True)
    parser.add_argument("--dataset.root", dest="root", required=True)
    parser.add_argument("--dataset.eval_split", dest="eval_split", type=float, default=0.2)
    parser.add_argument("--chunk-length", type=int, required=True, help="steps per chunk")
    parser.add_argument("--vocab-size", type=int, default=1024)
    parser.add_argument("--max-chunks", type=int, default=2000)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # the reference logs every chunk it cannot decode
    data = load_episode_actions(args.repo_id, args.root)
    pairs = benchmark_chunks(data, args.eval_split, args.chunk_length, args.max_chunks)
    ours = FastTokenizer.fit(pairs.fit_chunks, vocab_size=args.vocab_size)

    def unit(chunks: torch.Tensor) -> np.ndarray:
        return (2 * (chunks - ours.low) / (ours.high - ours.low) - 1).double().numpy()

    dim = ours.action_dim
    reference = UniversalActionProcessor.fit(list(unit(pairs.fit_chunks)), scale=ours.scale,
                                             vocab_size=args.vocab_size, time_horizon=args.chunk_length,
                                             action_dim=dim)  # fmt: skip
    chunks = pairs.chunks
    tokens, reference_tokens = ours.encode(chunks), reference(unit(chunks))
    decoded = torch.from_numpy(reference.decode(reference_tokens)).float()
    reference_chunks = (decoded + 1) / 2 * (ours.high - ours.low) + ours.low
    ours_chunks = ours.decode(tokens).actions
    lengths = np.array([len(row) for row in reference_tokens])
    print(f"{len(chunks)} held-out chunks of {args.chunk_length} x {dim}, vocabulary {args.vocab_size}")
    for name, mean_tokens, chunks_back in (("fast (package)", tokens.lengths.float().mean().item(), ours_chunks),
                                           ("reference", lengths.mean(), reference_chunks)):  # fmt: skip
        print(f"{name}: {mean_tokens:.1f} tokens per chunk, relative MAE "
              f"{reconstruction_errors(chunks_back, chunks)['relative_mae']:.4f}")  # fmt: skip
    print(f"largest difference between the two reconstructions: {(ours_chunks - reference_chunks).abs().max():.2e}")


if __name__ == "__main__":
    main()
