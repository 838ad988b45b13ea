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
# easy, medium, hard and very hard tasks of LeRobot's MetaWorld groups (lerobot/envs/metaworld_config.json)
CORPUS_TASKS=${CORPUS_TASKS:-drawer-open-v3,button-press-topdown-v3,door-open-v3,reach-v3,basketball-v3,sweep-into-v3,coffee-push-v3,pick-place-v3,push-v3,assembly-v3,shelf-place-v3,stick-pull-v3}
CORPUS_EPISODES=${CORPUS_EPISODES:-10}
EVAL_SPLIT=${EVAL_SPLIT:-0.2}
PEER_STEPS=${PEER_STEPS:-$TOKENIZER_STEPS}
RVQ_STEPS=${RVQ_STEPS:-$((TOKENIZER_STEPS / 2))}
SAVE_FREQ=${SAVE_FREQ:-$((TOKENIZER_STEPS >= 6 ? TOKENIZER_STEPS / 6 : 1))}

# corpus NAME: collect or write the corpus if missing and its camera-free copy, and set its dataset flags (data),
# ActionCodec's embodiment (embodiment), the peers' chunking flags (chunking) and the chunk length (chunk_seconds).
corpus() {
  local root="$RUN_DIR/$1/dataset" repo="local/$1_corpus"
  case "$1" in
    metaworld)
      "$bin/actioncodec-collect-metaworld" --root "$root" --repo-id "$repo" --tasks "$CORPUS_TASKS" \
        --episodes-per-task "$CORPUS_EPISODES" --image-size 64
      embodiment=metaworld_sawyer; chunking=(--policy.fps=80 --policy.chunk_seconds=0.5); chunk_seconds=0.5 ;;
    synthetic)
      [ -d "$root" ] || "$bin/actioncodec-make-synthetic-dataset" --root "$root" --repo-id "$repo" \
        --episodes 60 --episode-length 100 --action-dim 7 --fps 20
      embodiment=synthetic_7d; chunking=(--policy.fps=20); chunk_seconds=1 ;;
    *) echo "unknown corpus $1: expected metaworld or synthetic" >&2; return 1 ;;
  esac
  without_cameras "$repo" "$root" "$RUN_DIR/$1/actions"
  data=(--dataset.repo_id="${repo}_actions" --dataset.root="$RUN_DIR/$1/actions")
}

# embodiment_flags NAME: ActionCodec's embodiment flags (a registry entry, or described from the dataset)
embodiment_flags() {
  if [ "$1" = metaworld_sawyer ]; then
    echo --policy.embodiment_registry=configs/embodiments.json --policy.embodiment=metaworld_sawyer
  else
    echo --policy.embodiment="$1"
  fi
}

# trained OUT STEPS ARGS...: lerobot-train ARGS on the training episodes of $data into OUT, unless finished.
trained() {
  local out=$1 steps=$2; shift 2
  [ -f "$out/checkpoints/last/pretrained_model/model.safetensors" ] && return 0
  rm -rf "$out"
  "$bin/lerobot-train" "$@" --policy.device="$DEVICE" "${data[@]}" --dataset.eval_split="$EVAL_SPLIT" \
    --steps="$steps" --batch_size=64 --num_workers=0 --log_freq=100 --save_freq="$SAVE_FREQ" --output_dir="$out"
}

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
  "$bin/actioncodec-bench" "${data[@]}" --dataset.eval_split "$EVAL_SPLIT" --tokenizers "$specs" \
    --chunk-seconds "$chunk_seconds" --output-dir "$out/bench" --save-dir "$out/fitted" | tee "$out/bench.md"
  echo "== $name: learning curves (every saved step, held-out episodes)"
  "$bin/actioncodec-learning-curves" "${data[@]}" --dataset.eval_split "$EVAL_SPLIT" \
    --chunk-seconds "$chunk_seconds" --run-dir "$out/actioncodec" --run-dir "$out/vqvla" --run-dir "$out/nac" \
    --output "$out/learning_curves.png" | tee "$out/learning_curves.md"
done
