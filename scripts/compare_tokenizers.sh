#!/usr/bin/env bash
# The paper's Table 1 protocol in miniature: the same `actioncodec` policy (compact backbone, same data, steps,
# seeds and evaluation) trained once per tokenizer, only --policy.tokenizer_path changing.
#   1. the demo's demonstrations (collected if missing) and its ActionCodec tokenizer (trained if missing),
#   2. actioncodec-bench fits the peers on the same data, saves them (--save-dir) and prints their table,
#   3. per tokenizer: lerobot-train the policy, lerobot-eval it, and finally one success table for all.
# TOKENIZERS lists the fitted peers as actioncodec-bench specs, ';'-separated; POLICY_TYPE is the head every
# tokenizer gets (default actioncodec; actioncodec_ki is Table 1's KI column). Sizes as in scripts/lib.sh, e.g.
#   EVAL_EPISODES=5 TOKENIZERS="binning;fast" bash scripts/compare_tokenizers.sh
#   POLICY_TYPE=actioncodec_ki OUT=outputs/demo/comparison_ki bash scripts/compare_tokenizers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/lib.sh
TOKENIZERS=${TOKENIZERS:-"binning;fast;vqvla:steps=300"}
POLICY_TYPE=${POLICY_TYPE:-actioncodec}
OUT=${OUT:-$RUN_DIR/comparison}
mkdir -p "$OUT"

echo "== 1/3 demonstrations and the ActionCodec tokenizer"
collect_demonstrations
ensure_demo_tokenizer

echo "== 2/3 actioncodec-bench: fit and save $TOKENIZERS on the same demonstrations"
without_cameras "$REPO_ID" "$RUN_DIR/dataset" "$RUN_DIR/actions"  # the episodes the tokenizer was trained on
"$bin/actioncodec-bench" "${actions[@]}" --tokenizers "$TOKENIZERS;$DEMO_TOKENIZER" \
  --output-dir "$OUT/bench" --save-dir "$OUT/tokenizers"

echo "== 3/3 one $POLICY_TYPE policy per tokenizer: lerobot-train, then lerobot-eval ($EVAL_EPISODES episodes)"
runs=()
IFS=';' read -ra specs <<< "$TOKENIZERS"
for spec in "${specs[@]}" actioncodec; do
  if [ "$spec" = actioncodec ]; then
    name=actioncodec; path="$DEMO_TOKENIZER"
  else
    name=$("$bin/python" -c 'import sys; from lerobot_actioncodec.cli.bench import saved_name; print(saved_name(sys.argv[1]))' "$spec")
    path="$OUT/tokenizers/$name"
  fi
  compare_run "$OUT" "$name" "$path" "$POLICY_TYPE"
done
"$bin/actioncodec-eval-report" "${runs[@]}" --output "$OUT/success.json"
