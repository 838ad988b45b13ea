#!/usr/bin/env bash
# ActionCodec on LIBERO, offline and on the CPU:
#   1. collect scripted-expert demonstrations of a LIBERO-Object subset (actioncodec-collect-libero),
#   2. train the ActionCodec tokenizer on their actions with lerobot-train, then write metrics.json and report.png,
#   3. train the `actioncodec` policy with the CPU preset (configs/libero/policy_cpu.json, compact backbone),
#   4. evaluate it with lerobot-eval in LeRobot's libero env on the same tasks (configs/eval/libero_demo.json)
#      and print success per task and the wall time of every stage ($RUN_DIR/stage_times.tsv).
# The default tasks are LIBERO-Object 0, 2 and 3 (alphabet soup, salad dressing, bbq sauce), the run measured in
# docs/simulation.md; the expert solves all ten LIBERO-Object tasks (TASK_IDS=0-9). The dataset is
# kept between runs (collection resumes and is skipped when complete); training and evaluation start afresh.
# Sizes are environment variables, e.g. TASK_IDS=0-9 EPISODES_PER_TASK=50 POLICY_STEPS=10000 bash scripts/libero_demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RUN_DIR=${RUN_DIR:-outputs/libero_demo}
REPO_ID=local/libero_experts
EMBODIMENT=libero_franka
EVAL_PRESET=configs/eval/libero_demo.json
POLICY_PRESET=configs/libero/policy_cpu.json
SUITE=${SUITE:-libero_object}
TASK_IDS=${TASK_IDS:-0,2,3}  # as actioncodec-collect-libero takes them: 0-9 or 0,2,3
source scripts/preset.sh
# the presets' sizes, set before scripts/lib.sh gives the MetaWorld demo's defaults to what is still unset
POLICY_STEPS=${POLICY_STEPS:-$(preset "$POLICY_PRESET" steps)}
EVAL_EPISODES=${EVAL_EPISODES:-$(preset "$EVAL_PRESET" eval.n_episodes)}
source scripts/lib.sh
EPISODE_LENGTH=${EPISODE_LENGTH:-}  # evaluation steps per episode; empty: LeRobot's per-suite limit (280 on Object)
mkdir -p "$RUN_DIR"
rm -rf "$RUN_DIR/tokenizer" "$RUN_DIR/policy" "$RUN_DIR/eval" "$RUN_DIR/stage_times.tsv"
task_list=$("$bin/python" -c 'import sys
from lerobot_actioncodec.cli.collect_libero import parse_task_ids
print(",".join(map(str, parse_task_ids(sys.argv[1]))))' "$TASK_IDS")

collect() {
  "$bin/actioncodec-collect-libero" --root "$RUN_DIR/dataset" --repo-id "$REPO_ID" --suite "$SUITE" \
    --task-ids "$TASK_IDS" --episodes-per-task "$EPISODES_PER_TASK" --image-size "$IMAGE_SIZE"
}
evaluate() {
  local length=()
  [ -n "$EPISODE_LENGTH" ] && length=(--env.episode_length="$EPISODE_LENGTH")
  "$bin/lerobot-eval" --config_path="$EVAL_PRESET" --env.task="$SUITE" --env.task_ids="[$task_list]" \
    --env.observation_height="$IMAGE_SIZE" --env.observation_width="$IMAGE_SIZE" "${length[@]}" \
    --eval.n_episodes="$EVAL_EPISODES" --policy.path="$RUN_DIR/policy/checkpoints/last/pretrained_model" \
    --policy.device="$DEVICE" --policy.rollout_log="$RUN_DIR/eval/rollout_log.jsonl" --output_dir="$RUN_DIR/eval"
  "$bin/actioncodec-eval-report" --eval-dir "$RUN_DIR/eval" --output "$RUN_DIR/eval/success.json"
}

echo "== 1/4 LIBERO expert demonstrations -> $RUN_DIR/dataset ($EPISODES_PER_TASK episodes x $SUITE $TASK_IDS)"
stage collect collect
echo "== 2/4 lerobot-train --policy.type=actioncodec_tokenizer ($TOKENIZER_STEPS steps, $DEVICE), then its metrics"
stage tokenizer train_demo_tokenizer_with_metrics
echo "== 3/4 lerobot-train --config_path=$POLICY_PRESET ($POLICY_STEPS steps, $DEVICE)"
stage policy train_preset_policy
echo "== 4/4 lerobot-eval --env.type=libero --env.task=$SUITE --env.task_ids=[$task_list] ($EVAL_EPISODES episodes per task)"
stage eval evaluate
echo "== wall time per stage (seconds)"
cat "$RUN_DIR/stage_times.tsv"
