#!/usr/bin/env bash
# The main job on the embedded default, on the CPU:
#   1. collect MetaWorld scripted-expert demonstrations of one easy task into a LeRobotDataset,
#   2. train the ActionCodec tokenizer on them with lerobot-train, then write metrics.json and report.png,
#   3. train the `actioncodec` policy (compact backbone) on top of it with lerobot-train,
#   4. evaluate it with lerobot-eval in LeRobot's metaworld env and print success per task.
# Everything lands in $RUN_DIR (default outputs/demo). The dataset is kept between runs (collection resumes
# and is skipped when complete); training and evaluation start afresh. Sizes are environment variables, e.g.
#   TASKS=drawer-close-v3,button-press-topdown-v3 EPISODES_PER_TASK=50 POLICY_STEPS=5000 bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 WANDB_MODE=disabled
RUN_DIR=${RUN_DIR:-outputs/demo}
TASKS=${TASKS:-drawer-close-v3}
EPISODES_PER_TASK=${EPISODES_PER_TASK:-20}
IMAGE_SIZE=${IMAGE_SIZE:-128}
TOKENIZER_STEPS=${TOKENIZER_STEPS:-300}
POLICY_STEPS=${POLICY_STEPS:-800}
POLICY_BATCH_SIZE=${POLICY_BATCH_SIZE:-16}
N_ACTION_STEPS=${N_ACTION_STEPS:-10}
EVAL_EPISODES=${EVAL_EPISODES:-10}
DEVICE=${DEVICE:-cpu}
REPO_ID=local/metaworld_experts
bin=.venv/bin
dataset=(--dataset.repo_id="$REPO_ID" --dataset.root="$RUN_DIR/dataset")
mkdir -p "$RUN_DIR"
rm -rf "$RUN_DIR/tokenizer" "$RUN_DIR/policy" "$RUN_DIR/eval"

echo "== 1/4 MetaWorld expert demonstrations -> $RUN_DIR/dataset ($EPISODES_PER_TASK episodes x $TASKS)"
"$bin/actioncodec-collect-metaworld" --root "$RUN_DIR/dataset" --repo-id "$REPO_ID" --tasks "$TASKS" \
  --episodes-per-task "$EPISODES_PER_TASK" --image-size "$IMAGE_SIZE"

echo "== 2/4 lerobot-train --policy.type=actioncodec_tokenizer ($TOKENIZER_STEPS steps, $DEVICE), then its metrics"
"$bin/lerobot-train" --policy.type=actioncodec_tokenizer --policy.device="$DEVICE" \
  --policy.embodiment_registry=configs/embodiments.json --policy.embodiment=metaworld_sawyer "${dataset[@]}" \
  --steps="$TOKENIZER_STEPS" --batch_size=64 --num_workers=0 --log_freq=100 --save_freq="$TOKENIZER_STEPS" \
  --output_dir="$RUN_DIR/tokenizer"
tokenizer="$RUN_DIR/tokenizer/checkpoints/last/pretrained_model"
"$bin/actioncodec-tokenizer-metrics" --checkpoint "$tokenizer" "${dataset[@]}" \
  --output "$RUN_DIR/metrics.json" --report "$RUN_DIR/report.png"

echo "== 3/4 lerobot-train --policy.type=actioncodec --policy.backbone=compact ($POLICY_STEPS steps, $DEVICE)"
"$bin/lerobot-train" --policy.type=actioncodec --policy.backbone=compact --policy.tokenizer_path="$tokenizer" \
  --policy.n_action_steps="$N_ACTION_STEPS" --policy.device="$DEVICE" "${dataset[@]}" \
  --steps="$POLICY_STEPS" --batch_size="$POLICY_BATCH_SIZE" --num_workers=0 --log_freq=100 \
  --save_freq="$POLICY_STEPS" --output_dir="$RUN_DIR/policy"

echo "== 4/4 lerobot-eval --env.type=metaworld ($EVAL_EPISODES episodes per task)"
"$bin/lerobot-eval" --config_path=configs/eval/metaworld_demo.json --env.task="$TASKS" \
  --eval.n_episodes="$EVAL_EPISODES" --policy.path="$RUN_DIR/policy/checkpoints/last/pretrained_model" \
  --policy.device="$DEVICE" --output_dir="$RUN_DIR/eval"
"$bin/actioncodec-eval-report" --eval-dir "$RUN_DIR/eval" --output "$RUN_DIR/success.json"
