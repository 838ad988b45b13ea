"""Where RVQ post-training's reconstruction error comes from, on the held-out chunks of a LeRobotDataset.

For a VQ checkpoint and its RVQ post-trained checkpoint (scripts/tokenizer_benchmark.sh writes both): the relative
MAE of each prefix of levels, the relative residual left in level 0's lookup space after each level, and the
relative MAE of decoding the *unquantized* projected latents with the RVQ checkpoint's decoder, which bounds what
any number of residual levels can reach with the frozen encoder. Usage:
  R=outputs/tokenizer_benchmark/metaworld
  python benchmarks/rvq_residuals.py --vq $R/actioncodec/checkpoints/last/pretrained_model \\
      --rvq $R/actioncodec_rvq/checkpoints/last/pretrained_model \\
      --dataset.repo_id local/metaworld_corpus_actions --dataset.root $R/actions
"""

from __future__ import annotations

import argparse

import torch

from lerobot_actioncodec.evaluation import benchmark_chunks, load_episode_actions
from lerobot_actioncodec.metrics import reconstruction_errors
from lerobot_actioncodec.tokenizers.actioncodec import ActionCodecTokenizer


def relative_mae(prediction: torch.Tensor, target: torch.Tensor) -> float:
    return reconstruction_errors(prediction, target)["relative_mae"]


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vq", required=True, help="the stage-1 VQ checkpoint (pretrained_model directory)")
    parser.add_argument("--rvq", required=True, help="its RVQ post-trained checkpoint")
    parser.add_argument("--dataset.repo_id", dest="repo_id", required=True)
    parser.add_argument("--dataset.root", dest="root", required=True)
    parser.add_argument("--dataset.eval_split", dest="eval_split", type=float, default=0.2)
    parser.add_argument("--max-chunks", type=int, default=2000)
    args = parser.parse_args()
    vq, rvq = ActionCodecTokenizer.from_pretrained(args.vq), ActionCodecTokenizer.from_pretrained(args.rvq)
    data = load_episode_actions(args.repo_id, args.root)
    chunks = benchmark_chunks(data, args.eval_split, vq.chunk_length, args.max_chunks).chunks
    print(f"{len(chunks)} held-out chunks (eval_split={args.eval_split})")
    print(f"VQ checkpoint, level 0: relative MAE {relative_mae(vq.decode(vq.encode(chunks)), chunks):.4f}")

    index, spec = rvq.resolve(None)
    latents = rvq.codec.encode_latents(rvq.normalize(chunks, index), spec.fps, index)
    first = rvq.codec.quantizer.levels[0]
    projected = first.project_in(latents)
    tokens = rvq.encode(chunks, levels=rvq.num_levels)
    codes = torch.zeros_like(projected)
    for depth in range(1, rvq.num_levels + 1):
        codes = codes + rvq.codec.quantizer.levels[depth - 1].codebook[tokens[:, depth - 1]]
        residual = ((projected - codes).norm(dim=-1) / projected.norm(dim=-1)).mean().item()
        error = relative_mae(rvq.decode(tokens[:, :depth]), chunks)
        print(f"RVQ checkpoint, levels 0..{depth - 1}: relative MAE {error:.4f}, relative residual {residual:.3f}")
    unquantized = rvq.codec.decode_quantized(first.project_out(projected), spec.chunk_length, spec.fps, index)
    bound = relative_mae(rvq.normalizer.denormalize(unquantized, index, spec.action_dim), chunks)
    print(f"RVQ decoder on the unquantized projected latents (the frozen encoder's bound): relative MAE {bound:.4f}")


if __name__ == "__main__":
    main()
