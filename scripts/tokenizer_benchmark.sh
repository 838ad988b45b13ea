#!/usr/bin/env bash
# ActionCodec against its peers on data it was not tuned on: one actioncodec-bench run per corpus, scored on
# held-out episodes.
#   metaworld: MetaWorld scripted experts of 12 tasks spanning LeRobot's difficulty groups (Sawyer, 4-D, 80 Hz)
#   synthetic: smooth synthetic trajectories of another embodiment (7-D, 20 Hz)
# Every learned tokenizer trains with lerobot-train and --dataset.eval_split=$EVAL_SPLIT, so it never sees the
# episodes the benchmark scores: ActionCodec with the CPU preset (configs/tokenizer_cpu.json), its RVQ
# post-training, VQ-VLA and NAC for the same number of steps at the same batch size, and one ActionCodec
# co-trained on both corpora at once (actioncodec-merge-datasets). Binning (256 and 1000 bins), FAST and VQ-VLA
# in its paper's layout are fitted by the benchmark on the same training episodes and saved in
# $RUN_DIR/<corpus>/fitted. The tokenizers train on a camera-free copy of each
# corpus (the same episodes). Learning curves of the MetaWorld runs: $RUN_DIR/metaworld/learning_curves.png.
# Finished steps are skipped when the script runs again. Sizes are environment variables, e.g.
#   CORPORA=synthetic TOKENIZER_STEPS=500 bash scripts/tokenizer_benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RUN_DIR=${RUN_DIR:-outputs/tokenizer_benchmark}
PRESET=configs/tokenizer_cpu.json
TOKENIZER_STEPS=${TOKENIZER_STEPS:-$(.venv/bin/python -c 'import json, sys; print(json.load(open(sys.argv[1]))["steps"])' "$PRESET")}
source scripts/lib.sh
CORPORA=${CORPORA:-"metaworld synthetic"}
source scripts/corpus.sh

sources=()
for name in $CORPORA; do
  out="$RUN_DIR/$name"
  echo "== $name: data"
  corpus "$name"
  sources+=(--source "$embodiment=${data[0]#*=}@${data[1]#*=}")
  echo "== $name: ActionCodec ($PRESET, $TOKENIZER_STEPS steps), RVQ post-training ($RVQ_STEPS), VQ-VLA and NAC" \
    "($PEER_STEPS)"
  # shellcheck disable=SC2046
  trained "$out/actioncodec" "$TOKENIZER_STEPS" --config_path="$PRESET" $(embodiment_flags "$embodiment")
  tokenizer="$out/actioncodec/checkpoints/last/pretrained_model"
  if [ ! -f "$out/actioncodec_rvq/checkpoints/last/pretrained_model/model.safetensors" ]; then
    rm -rf "$out/actioncodec_rvq.init"
    "$bin/actioncodec-rvq" prepare --from "$tokenizer" --out "$out/actioncodec_rvq.init" --levels 3
  fi
  trained "$out/actioncodec_rvq" "$RVQ_STEPS" --policy.path="$out/actioncodec_rvq.init"
  for arch in vqvla nac; do
    trained "$out/$arch" "$PEER_STEPS" --policy.type=peer_tokenizer --policy.arch="$arch" "${chunking[@]}"
  done
done

co_trained="$RUN_DIR/co_trained"
if [ "${#sources[@]}" -gt 2 ]; then
  echo "== one ActionCodec co-trained on every corpus ($PRESET, $TOKENIZER_STEPS steps)"
  merged="$RUN_DIR/merged"
  [ -f "$merged/meta/info.json" ] || { rm -rf "$merged"; "$bin/actioncodec-merge-datasets" --root "$merged" \
    --repo-id local/merged_corpus "${sources[@]}" --embodiment-registry configs/embodiments.json; }
  data=(--dataset.repo_id=local/merged_corpus --dataset.root="$merged")
  trained "$co_trained" "$TOKENIZER_STEPS" --config_path="$PRESET" \
    --policy.embodiment_registry="$merged/meta/actioncodec_embodiments.json" \
    --policy.embodiment_column=observation.embodiment_index --policy.embodiment=metaworld_sawyer
fi

for name in $CORPORA; do
  out="$RUN_DIR/$name"
  corpus "$name"
  echo "== $name: actioncodec-bench on the held-out episodes (--dataset.eval_split=$EVAL_SPLIT)"
  # VQ-VLA's own layout and objective too (one latent per chunk: 4 tokens; squared error, lambda 4), fitted here
  specs="binning;binning:bins=1000;fast;vqvla:steps=$PEER_STEPS,batch_size=64,whole_chunk=true"
  specs+=",reconstruction_loss=mse,commitment_weight=4"
  for arch in vqvla nac actioncodec; do specs+=";$out/$arch/checkpoints/last/pretrained_model"; done
  specs+=";$out/actioncodec_rvq/checkpoints/last/pretrained_model:levels=1"
  specs+=";$out/actioncodec_rvq/checkpoints/last/pretrained_model:levels=3"
  [ -d "$co_trained/checkpoints/last" ] && specs+=";$co_trained/checkpoints/last/pretrained_model:embodiment=$embodiment"
  [ -d "$out/fitted" ] || rm -f "$out/bench.md"  # the report is kept only with the peers it fitted and saved
  inputs="${data[1]#*=}:$out/vqvla:$out/nac:$out/actioncodec:$out/actioncodec_rvq:$co_trained"
  report "$out/bench.md" "$inputs" "$bin/actioncodec-bench" "${data[@]}" --dataset.eval_split "$EVAL_SPLIT" \
    --tokenizers "$specs" --chunk-seconds "$chunk_seconds" --output-dir "$out/bench" --save-dir "$out/fitted"
  echo "== $name: learning curves (every saved step, held-out episodes)"
  report "$out/learning_curves.md" "$inputs" "$bin/actioncodec-learning-curves" "${data[@]}" \
    --dataset.eval_split "$EVAL_SPLIT" --chunk-seconds "$chunk_seconds" --run-dir "$out/actioncodec" \
    --run-dir "$out/vqvla" --run-dir "$out/nac" --output "$out/learning_curves.png"
done
