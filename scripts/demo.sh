#!/usr/bin/env bash
# The main job on the embedded default: write a small smooth 7-D, 20 Hz dataset (3,000 frames), train the
# ActionCodec tokenizer on it with lerobot-train on the CPU, and print the tokenizer's metrics.
# Everything lands in $RUN_DIR (default outputs/demo); sizes are environment variables.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 WANDB_MODE=disabled
RUN_DIR=${RUN_DIR:-outputs/demo}
STEPS=${STEPS:-400}
BATCH_SIZE=${BATCH_SIZE:-64}
DEVICE=${DEVICE:-cpu}
bin=.venv/bin
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

echo "== 1/3 dataset: $RUN_DIR/dataset"
"$bin/actioncodec-make-synthetic-dataset" --root "$RUN_DIR/dataset" --repo-id local/synthetic_smooth

echo "== 2/3 lerobot-train --policy.type=actioncodec_tokenizer ($STEPS steps, batch $BATCH_SIZE, $DEVICE)"
"$bin/lerobot-train" --policy.type=actioncodec_tokenizer --policy.fps=20 --policy.device="$DEVICE" \
  --dataset.repo_id=local/synthetic_smooth --dataset.root="$RUN_DIR/dataset" \
  --steps="$STEPS" --batch_size="$BATCH_SIZE" --num_workers=0 --log_freq=100 --save_freq="$STEPS" \
  --output_dir="$RUN_DIR/train"

echo "== 3/3 tokenizer metrics on the dataset ($RUN_DIR/metrics.json)"
"$bin/actioncodec-tokenizer-metrics" --checkpoint "$RUN_DIR/train/checkpoints/last/pretrained_model" \
  --dataset.repo_id=local/synthetic_smooth --dataset.root="$RUN_DIR/dataset" --output "$RUN_DIR/metrics.json"
