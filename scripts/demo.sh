#!/usr/bin/env bash
# The main job on the embedded default, on the CPU:
#   1. collect MetaWorld scripted-expert demonstrations (5 MT10 tasks) into a LeRobotDataset,
#   2. train the ActionCodec tokenizer on them with lerobot-train,
#   3. print the tokenizer's metrics and write metrics.json and report.png.
# Everything lands in $RUN_DIR (default outputs/demo). The dataset is kept between runs (collection resumes
# and is skipped when complete); training starts afresh. Sizes are environment variables, e.g.
#   EPISODES_PER_TASK=50 IMAGE_SIZE=480 STEPS=20000 DEVICE=cuda bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 WANDB_MODE=disabled
RUN_DIR=${RUN_DIR:-outputs/demo}
TASKS=${TASKS:-reach-v3,push-v3,pick-place-v3,door-open-v3,drawer-open-v3}
EPISODES_PER_TASK=${EPISODES_PER_TASK:-8}
IMAGE_SIZE=${IMAGE_SIZE:-128}
STEPS=${STEPS:-400}
BATCH_SIZE=${BATCH_SIZE:-64}
DEVICE=${DEVICE:-cpu}
REPO_ID=local/metaworld_experts
bin=.venv/bin
mkdir -p "$RUN_DIR"
rm -rf "$RUN_DIR/train"

echo "== 1/3 MetaWorld expert demonstrations -> $RUN_DIR/dataset ($EPISODES_PER_TASK episodes x $TASKS)"
"$bin/actioncodec-collect-metaworld" --root "$RUN_DIR/dataset" --repo-id "$REPO_ID" --tasks "$TASKS" \
  --episodes-per-task "$EPISODES_PER_TASK" --image-size "$IMAGE_SIZE"

echo "== 2/3 lerobot-train --policy.type=actioncodec_tokenizer ($STEPS steps, batch $BATCH_SIZE, $DEVICE)"
"$bin/lerobot-train" --policy.type=actioncodec_tokenizer --policy.device="$DEVICE" \
  --policy.embodiment_registry=configs/embodiments.json --policy.embodiment=metaworld_sawyer \
  --dataset.repo_id="$REPO_ID" --dataset.root="$RUN_DIR/dataset" \
  --steps="$STEPS" --batch_size="$BATCH_SIZE" --num_workers=0 --log_freq=100 --save_freq="$STEPS" \
  --output_dir="$RUN_DIR/train"

echo "== 3/3 tokenizer metrics on the dataset -> $RUN_DIR/metrics.json, $RUN_DIR/report.png"
"$bin/actioncodec-tokenizer-metrics" --checkpoint "$RUN_DIR/train/checkpoints/last/pretrained_model" \
  --dataset.repo_id="$REPO_ID" --dataset.root="$RUN_DIR/dataset" \
  --output "$RUN_DIR/metrics.json" --report "$RUN_DIR/report.png"
