#!/usr/bin/env bash
# Coarse-to-Control's tokenizers on the MetaWorld corpus of scripts/tokenizer_benchmark.sh (the same episodes,
# training split and preset, configs/tokenizer_cpu.json):
#   - ActionCodec on execution chunks only (the tokenizer benchmark's; trained here when missing),
#   - a joint-mode ActionCodec (--policy.plan_seconds) at each horizon of PLAN_SECONDS: the plan mode takes a
#     soft-prompt slot, one codebook for both modes,
#   - the planning codec of the separate-tokenizer ablation at the first horizon (--policy.train_execution=false).
# Then actioncodec-bench on the held-out episodes: execution chunks (what the plan mode costs the execution mode)
# into $RUN_DIR/metaworld/plans/exec_bench.md, and coarse plans (the plan modes next to binning and FAST fitted on
# the plans and Coarse-to-Control's own c2c tokenizer fitted on both modes; the support overlap of plan and
# execution codes) into plans/plan_bench_<seconds>s.md per horizon.
# Finished steps are skipped when the script runs again. Sizes are environment variables, e.g.
#   CORPUS_TASKS=drawer-open-v3,basketball-v3 CORPUS_EPISODES=10 TOKENIZER_STEPS=600 bash scripts/plan_benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RUN_DIR=${RUN_DIR:-outputs/tokenizer_benchmark}
PRESET=configs/tokenizer_cpu.json
source scripts/preset.sh
TOKENIZER_STEPS=${TOKENIZER_STEPS:-$(preset "$PRESET" steps)}  # before lib.sh, whose default is the demo's
source scripts/lib.sh
source scripts/corpus.sh
PLAN_SECONDS=${PLAN_SECONDS:-"1 2"}  # MetaWorld's scripted episodes last 0.6-1.2 s; the paper: 8 s on LIBERO
first=${PLAN_SECONDS%% *}
last=checkpoints/last/pretrained_model

out="$RUN_DIR/metaworld"
plans="$out/plans"
echo "== metaworld: data"
corpus metaworld
read -r -a flags <<< "$(embodiment_flags "$embodiment")"
echo "== ActionCodec: execution only, joint-mode at ${PLAN_SECONDS// /, } s, plan-only at $first s ($PRESET," \
  "$TOKENIZER_STEPS steps)"
trained "$out/actioncodec" "$TOKENIZER_STEPS" --config_path="$PRESET" "${flags[@]}"
for seconds in $PLAN_SECONDS; do
  trained "$plans/joint_${seconds}s" "$TOKENIZER_STEPS" --config_path="$PRESET" "${flags[@]}" \
    --policy.plan_seconds="$seconds"
done
trained "$plans/plan_only_${first}s" "$TOKENIZER_STEPS" --config_path="$PRESET" "${flags[@]}" \
  --policy.plan_seconds="$first" --policy.train_execution=false

echo "== actioncodec-bench: execution chunks of the held-out episodes (--dataset.eval_split=$EVAL_SPLIT)"
c2c="c2c:steps=$TOKENIZER_STEPS,batch_size=64"  # Coarse-to-Control's own tokenizer, fitted by the benchmark
specs="$out/actioncodec/$last;$c2c"
for seconds in $PLAN_SECONDS; do specs+=";$plans/joint_${seconds}s/$last"; done
inputs="${data[1]#*=}:$out/actioncodec:$plans/plan_only_${first}s"  # the data and every tokenizer trained here
for seconds in $PLAN_SECONDS; do inputs+=":$plans/joint_${seconds}s"; done
report "$plans/exec_bench.md" "$inputs" "$bin/actioncodec-bench" "${data[@]}" --dataset.eval_split "$EVAL_SPLIT" \
  --tokenizers "$specs" --chunk-seconds "$chunk_seconds" --output-dir "$plans/exec_bench"
for seconds in $PLAN_SECONDS; do
  echo "== actioncodec-bench --plans: coarse plans of the next $seconds s of the held-out episodes"
  specs="$plans/joint_${seconds}s/$last;binning;fast;$c2c"
  if [ "$seconds" = "$first" ]; then specs+=";$plans/plan_only_${seconds}s/$last"; fi
  report "$plans/plan_bench_${seconds}s.md" "$inputs" "$bin/actioncodec-bench" "${data[@]}" \
    --dataset.eval_split "$EVAL_SPLIT" --plans --tokenizers "$specs" --output-dir "$plans/plan_bench_${seconds}s"
done
