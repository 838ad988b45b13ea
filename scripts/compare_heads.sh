#!/usr/bin/env bash
# The paper's section 6.2 in miniature: the autoregressive (ar), parallel-decoding (pd), block-wise
# autoregressive (bar) and knowledge-insulation (ki) heads on the same compact backbone, data, steps, seeds and
# evaluation.
#   1. the demo's demonstrations (collected if missing) and its ActionCodec tokenizer (trained if missing),
#   2. RVQ post-training of that tokenizer (3 levels, level 0 unchanged) for bar; ar, pd and ki read the VQ form,
#   3. per head: lerobot-train, lerobot-eval, then one success table for all.
# Finished runs are skipped when the script runs again. HEADS picks some (also bar_level0: bar with level 0's
# cross-entropy weighted 2:1 against the two finer levels together), sizes as in scripts/lib.sh, e.g.
#   EVAL_EPISODES=5 HEADS="pd bar bar_level0" bash scripts/compare_heads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/lib.sh
HEADS=${HEADS:-"ar pd bar ki"}
OUT=${OUT:-$RUN_DIR/heads}
mkdir -p "$OUT"
declare -A TYPES=([ar]=actioncodec [pd]=actioncodec_pd [bar]=actioncodec_bar [bar_level0]=actioncodec_bar
                  [ki]=actioncodec_ki)
declare -A FLAGS=([bar_level0]="--policy.level_loss_weights=[1,0.25,0.25]")

echo "== 1/3 demonstrations and the ActionCodec tokenizer"
collect_demonstrations
ensure_demo_tokenizer

echo "== 2/3 RVQ post-training of the tokenizer (for bar)"
rvq="$OUT/rvq_tokenizer/checkpoints/last/pretrained_model"
if [[ " $HEADS " == *" bar"* && ! -f "$rvq/model.safetensors" ]]; then
  rm -rf "$OUT/rvq_tokenizer"
  post_train_rvq "$DEMO_TOKENIZER" "$OUT/rvq_tokenizer"
fi

echo "== 3/3 one policy per head: lerobot-train, then lerobot-eval ($EVAL_EPISODES episodes)"
runs=()
for head in $HEADS; do
  type=${TYPES[$head]:?"unknown head $head: expected ar, pd, bar, bar_level0 or ki"}
  tokenizer=$([[ "$head" == bar* ]] && echo "$rvq" || echo "$DEMO_TOKENIZER")
  read -ra flags <<< "${FLAGS[$head]:-}"
  compare_run "$OUT" "$head" "$tokenizer" "$type" "${flags[@]}"
done
"$bin/actioncodec-eval-report" "${runs[@]}" --output "$OUT/success.json"
