#!/usr/bin/env bash
# The multi-task MetaWorld protocol: success rate against training steps, one curve per tokenizer (autoregressive
# head) and one per head on ActionCodec, with backbone, data, steps, seeds and evaluation fixed.
#   1. corpus and tokenizers: scripts/tokenizer_benchmark.sh on the protocol's tasks (MetaWorld scripted experts,
#      the 12 tasks of configs/eval/metaworld_protocol.json across LeRobot's four difficulty groups): ActionCodec
#      (CPU preset) and its RVQ post-training, VQ-VLA and NAC trained with lerobot-train; binning and FAST fitted
#      by actioncodec-bench on the same training episodes;
#   2. one policy per run with configs/protocol/metaworld_policy.json (compact backbone, language-conditioned by
#      the task string), a checkpoint every quarter of the budget;
#   3. lerobot-eval of every checkpoint on every task (configs/eval/metaworld_protocol.json: 10 episodes per
#      task, seed 1000), with the policy's rollout log (chunk-boundary jumps, no-motion chunks);
#   4. actioncodec-success-curves: $OUT/tokenizers.png, $OUT/heads.png, $OUT/knowledge_insulation.png (KI on
#      ActionCodec, FAST and binning tokens) and $OUT/plans.png (Coarse-to-Control's ablations: no plan, plans of
#      two horizons from joint-mode tokenizers, a separate planning codec; scripts/plan_benchmark.sh trains their
#      tokenizers) and, for runs actioncodec_tok<N> (the AR head on an ActionCodec tokenizer trained N steps instead
#      of TOKENIZER_STEPS), $OUT/tokenizer_steps.png beside actioncodec, with their markdown and JSON.
# It takes hours on 2 CPU cores. Every finished step is kept: run it again after an interruption and it goes on
# (an unfinished lerobot-train resumes from its last checkpoint, an evaluated checkpoint is not evaluated again).
# JOBS=N trains the runs and evaluates the checkpoints N at a time (each job's output in a .log file beside its
# results). Sizes are environment variables, e.g. the quick version the slow tests run:
#   TASKS=reach-v3,drawer-close-v3 EVAL_TASKS=drawer-close-v3 EPISODES_PER_TASK=2 TOKENIZER_STEPS=4 POLICY_STEPS=2 \
#     SAVE_FREQ=2 EVAL_EPISODES=1 RUNS=actioncodec bash scripts/metaworld_protocol.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
TRAIN_PRESET=configs/protocol/metaworld_policy.json
EVAL_PRESET=configs/eval/metaworld_protocol.json
source scripts/preset.sh
source scripts/checkpoints.sh
OUT=${OUT:-outputs/protocol}
TASKS=${TASKS:-$(preset "$EVAL_PRESET" env.task)}
EVAL_TASKS=${EVAL_TASKS:-$TASKS}  # the tasks evaluated (default: all the policies learn)
EPISODES_PER_TASK=${EPISODES_PER_TASK:-20}
POLICY_STEPS=${POLICY_STEPS:-$(preset "$TRAIN_PRESET" steps)}
SAVE_FREQ=${SAVE_FREQ:-$((POLICY_STEPS / 4))}
EVAL_EPISODES=${EVAL_EPISODES:-$(preset "$EVAL_PRESET" eval.n_episodes)}
DEVICE=${DEVICE:-cpu}
JOBS=${JOBS:-1}  # policies trained and checkpoints evaluated at once: for a machine with many cores (and a GPU)
# jobs at once share the cores: each gets its share of threads (torch's default, one per core in every job, makes
# the jobs' thread pools fight over the cores, and a training step can take minutes instead of a second)
if [ "$JOBS" -gt 1 ] && [ -z "${OMP_NUM_THREADS:-}" ]; then
  OMP_NUM_THREADS=$(( $(nproc) / JOBS > 1 ? $(nproc) / JOBS : 1 ))
  export OMP_NUM_THREADS
fi
# tokenizers under the autoregressive head, then the heads on ActionCodec (actioncodec is in both figures)
TOKENIZER_RUNS="binning binning1000 binning1000_short fast vqvla nac actioncodec actioncodec_rvq"
HEAD_RUNS="actioncodec actioncodec_pd actioncodec_bar actioncodec_ki"
# knowledge insulation on each tokenizer's tokens (the paper's Table 1: KI on ActionCodec against KI on FAST)
KI_RUNS="actioncodec_ki fast_ki binning_ki"
# Coarse-to-Control's ablations (its Tables 3-4): no plan (actioncodec; the joint tokenizer's execution mode alone,
# actioncodec_joint), plans of two horizons from a joint-mode tokenizer, plans from a separate planning codec
PLAN_RUNS="actioncodec actioncodec_joint actioncodec_plan actioncodec_plan_long actioncodec_plan_separate"
PLAN_SECONDS=${PLAN_SECONDS:-"1 2"}  # the short and the long horizon (plan_benchmark.sh trains their tokenizers)
RUNS=${RUNS:-"$TOKENIZER_RUNS actioncodec_pd actioncodec_bar $KI_RUNS ${PLAN_RUNS#actioncodec }"}
bin=.venv/bin
export HF_HUB_OFFLINE=1 WANDB_MODE=disabled

echo "== 1/4 corpus ($EPISODES_PER_TASK episodes x $TASKS) and tokenizers"
tokenizers="$OUT/tokenizers"
RUN_DIR="$tokenizers" CORPORA=metaworld CORPUS_TASKS="$TASKS" CORPUS_EPISODES="$EPISODES_PER_TASK" \
  DEVICE="$DEVICE" bash scripts/tokenizer_benchmark.sh
corpus="$tokenizers/metaworld"
dataset=(--dataset.repo_id=local/metaworld_corpus --dataset.root="$corpus/dataset")
rvq="$corpus/actioncodec_rvq/checkpoints/last/pretrained_model"
[ -f "$OUT/actioncodec_rvq_vq/model.safetensors" ] || { rm -rf "$OUT/actioncodec_rvq_vq"
  "$bin/actioncodec-rvq" export-vq --from "$rvq" --out "$OUT/actioncodec_rvq_vq"; }
# the paper's binning baseline: 1,000 bins over a short horizon (8 steps), fitted on the same training episodes
short="$OUT/short_horizon"
[ -f "$short/binning_bins_1000/action_tokenizer.json" ] || "$bin/actioncodec-bench" \
  --dataset.repo_id=local/metaworld_corpus_actions --dataset.root="$corpus/actions" --dataset.eval_split 0.2 \
  --tokenizers "binning:bins=1000" --chunk-seconds 0.1 --output-dir "$short/bench" --save-dir "$short"

if [[ " $RUNS " == *" actioncodec_plan"* || " $RUNS " == *" actioncodec_joint "* ]]; then
  echo "== 1b/4 joint-mode and plan-only ActionCodec tokenizers (${PLAN_SECONDS// /, } s plans)"
  RUN_DIR="$tokenizers" CORPORA=metaworld CORPUS_TASKS="$TASKS" CORPUS_EPISODES="$EPISODES_PER_TASK" \
    PLAN_SECONDS="$PLAN_SECONDS" DEVICE="$DEVICE" bash scripts/plan_benchmark.sh
fi
read -r short_plan long_plan _ <<< "$PLAN_SECONDS"
long_plan=${long_plan:-$short_plan}
plans="$corpus/plans"
last=checkpoints/last/pretrained_model

# Runs actioncodec_tok<N>: the autoregressive head on the corpus's ActionCodec tokenizer trained N steps instead of
# $TOKENIZER_STEPS (same preset, data and batch as scripts/tokenizer_benchmark.sh's, through its `trained`), to see
# what the tokenizer's training length does to the policy.
LONGER_TOKENIZER_RUNS=$(tr ' ' '\n' <<< "$RUNS" | grep -E '^actioncodec_tok[0-9]+$' || true)
for name in $LONGER_TOKENIZER_RUNS; do
  steps=${name#actioncodec_tok}
  echo "== 1c/4 the ActionCodec tokenizer trained $steps steps (run $name)"
  (source scripts/lib.sh; source scripts/corpus.sh; SAVE_FREQ=$((steps >= 8 ? steps / 8 : 1))
    data=(--dataset.repo_id=local/metaworld_corpus_actions --dataset.root="$corpus/actions")
    # shellcheck disable=SC2046
    trained "$corpus/actioncodec_$steps" "$steps" --config_path=configs/tokenizer_cpu.json \
      $(embodiment_flags metaworld_sawyer))
done

# run_spec NAME: the policy type, tokenizer directory and extra flags of a run
run_spec() {
  local learned="$corpus/$1/$last"
  case "$1" in
    binning) echo "actioncodec $corpus/fitted/binning" ;;
    binning1000) echo "actioncodec $corpus/fitted/binning_bins_1000" ;;
    binning1000_short) echo "actioncodec $short/binning_bins_1000 --policy.n_action_steps=8" ;;
    fast) echo "actioncodec $corpus/fitted/fast" ;;
    vqvla | nac | actioncodec) echo "actioncodec $learned" ;;
    actioncodec_rvq) echo "actioncodec $OUT/actioncodec_rvq_vq" ;;  # level-0 tokens, post-trained decoder
    actioncodec_tok*) [[ $1 =~ ^actioncodec_tok[0-9]+$ ]] || { echo "run $1: expected actioncodec_tok<N>, N the" \
      "tokenizer's training steps (e.g. actioncodec_tok4000)" >&2; return 1; }
      echo "actioncodec $corpus/actioncodec_${1#actioncodec_tok}/$last" ;;
    actioncodec_pd) echo "actioncodec_pd $corpus/actioncodec/checkpoints/last/pretrained_model" ;;
    actioncodec_bar) echo "actioncodec_bar $rvq" ;;
    actioncodec_ki) echo "actioncodec_ki $corpus/actioncodec/checkpoints/last/pretrained_model" ;;
    fast_ki) echo "actioncodec_ki $corpus/fitted/fast" ;;
    binning_ki) echo "actioncodec_ki $corpus/fitted/binning" ;;
    actioncodec_joint) echo "actioncodec $plans/joint_${short_plan}s/$last" ;;
    actioncodec_plan) echo "actioncodec $plans/joint_${short_plan}s/$last --policy.plan_mode=joint" ;;
    actioncodec_plan_long) echo "actioncodec $plans/joint_${long_plan}s/$last --policy.plan_mode=joint" ;;
    actioncodec_plan_separate) echo "actioncodec $corpus/actioncodec/$last --policy.plan_mode=separate" \
      "--policy.plan_tokenizer_path=$plans/plan_only_${short_plan}s/$last" ;;
    *) echo "unknown run $1: expected one of $TOKENIZER_RUNS $HEAD_RUNS $KI_RUNS $PLAN_RUNS" \
      "or actioncodec_tok<N>" >&2; return 1 ;;
  esac
}

# in_parallel FUNCTION ARG...: FUNCTION ARG for every ARG, $JOBS at a time, each job's output in the log file
# that FUNCTION names when JOBS > 1; fails after all have ended if any failed.
in_parallel() {
  local fn=$1 pids=() failed=0
  shift
  for arg in "$@"; do
    if [ "$JOBS" -le 1 ]; then "$fn" "$arg"; continue; fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    "$fn" "$arg" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}
# quiet LOG COMMAND...: COMMAND's output into LOG when jobs run at once, else on the terminal
quiet() {
  local log=$1
  shift
  if [ "$JOBS" -le 1 ]; then "$@"; else mkdir -p "$(dirname "$log")"; "$@" > "$log" 2>&1; fi
}

final_step=$(printf "%06d" "$POLICY_STEPS")
train_run() {
  local name=$1 spec type tokenizer extra=() run
  spec=$(run_spec "$name")
  read -r type tokenizer _ <<< "$spec"
  read -r -a extra <<< "$(cut -d' ' -f3- <<< "$spec ")"
  run="$OUT/runs/$name/policy"
  if [ -f "$run/checkpoints/$final_step/pretrained_model/model.safetensors" ]; then return 0; fi
  if [ -f "$run/checkpoints/last/pretrained_model/train_config.json" ]; then
    echo "-- $name: resuming lerobot-train from $(readlink "$run/checkpoints/last")"
    quiet "$OUT/runs/$name/train.log" "$bin/lerobot-train" \
      --config_path="$run/checkpoints/last/pretrained_model/train_config.json" --resume=true
  else
    echo "-- $name: lerobot-train --policy.type=$type --policy.tokenizer_path=$tokenizer"
    rm -rf "$run"
    quiet "$OUT/runs/$name/train.log" "$bin/lerobot-train" --config_path="$TRAIN_PRESET" --policy.type="$type" \
      --policy.tokenizer_path="$tokenizer" --policy.device="$DEVICE" "${dataset[@]}" --steps="$POLICY_STEPS" \
      --save_freq="$SAVE_FREQ" --output_dir="$run" "${extra[@]}"
  fi
}
echo "== 2/4 policies ($POLICY_STEPS steps, a checkpoint every $SAVE_FREQ, $JOBS at a time): $RUNS"
# shellcheck disable=SC2086
in_parallel train_run $RUNS

# eval_checkpoint CHECKPOINT_DIR: lerobot-eval of one checkpoint on every task, unless it was evaluated
eval_checkpoint() {
  local checkpoint=$1 name step eval_dir
  name=$(basename "$(dirname "$(dirname "$(dirname "$checkpoint")")")")
  step=$((10#$(basename "$checkpoint")))
  eval_dir="$OUT/runs/$name/eval/$step"
  [ -f "$eval_dir/eval_info.json" ] && return 0
  echo "-- $name, step $step"
  rm -rf "$eval_dir"
  quiet "$eval_dir.log" "$bin/lerobot-eval" --config_path="$EVAL_PRESET" --env.task="$EVAL_TASKS" \
    --eval.n_episodes="$EVAL_EPISODES" --policy.path="$checkpoint/pretrained_model" --policy.device="$DEVICE" \
    --policy.rollout_log="$eval_dir/rollout_log.jsonl" --output_dir="$eval_dir"
}
echo "== 3/4 lerobot-eval of every checkpoint ($EVAL_EPISODES episodes per task, $JOBS at a time)"
# shellcheck disable=SC2086
mapfile -t checkpoints < <(checkpoints_latest_first "$OUT" $RUNS)
in_parallel eval_checkpoint "${checkpoints[@]}"

echo "== 4/4 success against training steps"
# curves FIGURE TITLE RUN...: one actioncodec-success-curves figure over the runs of this protocol that exist
curves() {
  local figure=$1 title=$2 flags=()
  shift 2
  for name in "$@"; do
    [[ " $RUNS " == *" $name "* ]] && flags+=(--run "$name=$OUT/runs/$name/eval")
  done
  [ "${#flags[@]}" -gt 0 ] && "$bin/actioncodec-success-curves" "${flags[@]}" --output "$OUT/$figure.png" --title "$title"
  return 0
}
# shellcheck disable=SC2086
curves tokenizers "tokenizers, autoregressive head (compact), MetaWorld" $TOKENIZER_RUNS
# shellcheck disable=SC2086
curves heads "heads on ActionCodec (compact), MetaWorld" $HEAD_RUNS
# shellcheck disable=SC2086
curves knowledge_insulation "knowledge insulation (flow expert) on each tokenizer's tokens, MetaWorld" $KI_RUNS
# shellcheck disable=SC2086
curves plans "plan-then-execute (Coarse-to-Control) on ActionCodec (compact), MetaWorld" $PLAN_RUNS
if [ -n "$LONGER_TOKENIZER_RUNS" ]; then  # drawn only beside runs on a longer-trained tokenizer
  # shellcheck disable=SC2086
  curves tokenizer_steps "the ActionCodec tokenizer's training steps, autoregressive head (compact), MetaWorld" \
    actioncodec $LONGER_TOKENIZER_RUNS
fi
