#!/usr/bin/env bash
# The main job on the embedded default, on the CPU:
#   1. collect MetaWorld scripted-expert demonstrations of one easy task into a LeRobotDataset,
#   2. train the ActionCodec tokenizer on them with lerobot-train, then write metrics.json and report.png,
#   3. train the `actioncodec` policy (compact backbone) on top of it with lerobot-train,
#   4. evaluate it with lerobot-eval in LeRobot's metaworld env and print success per task.
# Everything lands in $RUN_DIR (default outputs/demo). The dataset is kept between runs (collection resumes
# and is skipped when complete); training and evaluation start afresh. Sizes are environment variables (see
# scripts/lib.sh), e.g.
#   TASKS=drawer-close-v3,button-press-topdown-v3 EPISODES_PER_TASK=50 POLICY_STEPS=5000 bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/lib.sh
mkdir -p "$RUN_DIR"
rm -rf "$RUN_DIR/tokenizer" "$RUN_DIR/policy" "$RUN_DIR/eval" "$RUN_DIR/stage_times.tsv"

echo "== 1/4 MetaWorld expert demonstrations -> $RUN_DIR/dataset ($EPISODES_PER_TASK episodes x $TASKS)"
stage collect collect_demonstrations

echo "== 2/4 lerobot-train --policy.type=actioncodec_tokenizer ($TOKENIZER_STEPS steps, $DEVICE), then its metrics"
stage tokenizer train_demo_tokenizer_with_metrics

echo "== 3/4 lerobot-train --policy.type=actioncodec --policy.backbone=compact ($POLICY_STEPS steps, $DEVICE)"
stage policy train_policy "$DEMO_TOKENIZER" "$RUN_DIR/policy"

echo "== 4/4 lerobot-eval --env.type=metaworld ($EVAL_EPISODES episodes per task)"
stage eval evaluate_policy "$RUN_DIR/policy" "$RUN_DIR/eval"
echo "== wall time per stage (seconds)"
cat "$RUN_DIR/stage_times.tsv"
