#!/usr/bin/env bash
# ActionCodec against its peers on data it was not tuned on: one actioncodec-bench run per corpus, scored on
# held-out episodes.
#   metaworld: MetaWorld scripted experts of 12 tasks spanning LeRobot's difficulty groups (Sawyer, 4-D, 80 Hz)
#   synthetic: smooth synthetic trajectories of another embodiment (7-D, 20 Hz)
# Every learned tokenizer (ActionCodec, its RVQ post-training, VQ-VLA, NAC) trains with lerobot-train and
# --dataset.eval_split=$EVAL_SPLIT, so it never sees the episodes the benchmark scores; binning (256 and 1000
# bins) and FAST are fitted by the benchmark on the same training episodes. Finished steps are skipped when the
# script runs again. Sizes are environment variables, e.g.
#   CORPORA=synthetic TOKENIZER_STEPS=2000 bash scripts/tokenizer_benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RUN_DIR=${RUN_DIR:-outputs/tokenizer_benchmark}
source scripts/lib.sh
CORPORA=${CORPORA:-"metaworld synthetic"}
# easy, medium, hard and very hard tasks of LeRobot's MetaWorld groups (lerobot/envs/metaworld_config.json)
CORPUS_TASKS=${CORPUS_TASKS:-drawer-open-v3,button-press-topdown-v3,door-open-v3,reach-v3,basketball-v3,sweep-into-v3,coffee-push-v3,pick-place-v3,push-v3,assembly-v3,shelf-place-v3,stick-pull-v3}
CORPUS_EPISODES=${CORPUS_EPISODES:-10}
EVAL_SPLIT=${EVAL_SPLIT:-0.2}
PEER_STEPS=${PEER_STEPS:-$TOKENIZER_STEPS}

# corpus NAME: collect or write the corpus if missing, and set its dataset flags (data), ActionCodec's embodiment
# flags (embodiment), the peers' chunking flags (chunking) and the chunk length in seconds (chunk_seconds).
corpus() {
  local root="$RUN_DIR/$1/dataset"
  case "$1" in
    metaworld)
      "$bin/actioncodec-collect-metaworld" --root "$root" --repo-id local/metaworld_corpus --tasks "$CORPUS_TASKS" \
        --episodes-per-task "$CORPUS_EPISODES" --image-size 64
      data=(--dataset.repo_id=local/metaworld_corpus --dataset.root="$root")
      embodiment=(--policy.embodiment_registry=configs/embodiments.json --policy.embodiment=metaworld_sawyer)
      chunking=(--policy.fps=80 --policy.chunk_seconds=0.5); chunk_seconds=0.5 ;;
    synthetic)
      [ -d "$root" ] || "$bin/actioncodec-make-synthetic-dataset" --root "$root" --repo-id local/synthetic_corpus \
        --episodes 60 --episode-length 100 --action-dim 7 --fps 20
      data=(--dataset.repo_id=local/synthetic_corpus --dataset.root="$root")
      embodiment=(--policy.fps=20); chunking=(--policy.fps=20); chunk_seconds=1 ;;
    *) echo "unknown corpus $1: expected metaworld or synthetic" >&2; return 1 ;;
  esac
}

# trained OUT STEPS ARGS...: lerobot-train ARGS on the corpus's training episodes into OUT, unless finished.
trained() {
  local out=$1 steps=$2; shift 2
  [ -f "$out/checkpoints/last/pretrained_model/model.safetensors" ] && return 0
  rm -rf "$out"
  "$bin/lerobot-train" "$@" --policy.device="$DEVICE" "${data[@]}" --dataset.eval_split="$EVAL_SPLIT" \
    --steps="$steps" --batch_size=64 --num_workers=0 --log_freq=100 --save_freq="$steps" --output_dir="$out"
}

for name in $CORPORA; do
  out="$RUN_DIR/$name"
  echo "== $name: data"
  corpus "$name"
  echo "== $name: ActionCodec ($TOKENIZER_STEPS steps), its RVQ post-training, VQ-VLA and NAC ($PEER_STEPS steps)"
  trained "$out/actioncodec" "$TOKENIZER_STEPS" --policy.type=actioncodec_tokenizer "${embodiment[@]}"
  tokenizer="$out/actioncodec/checkpoints/last/pretrained_model"
  if [ ! -f "$out/actioncodec_rvq/checkpoints/last/pretrained_model/model.safetensors" ]; then
    rm -rf "$out/actioncodec_rvq.init"
    "$bin/actioncodec-rvq" prepare --from "$tokenizer" --out "$out/actioncodec_rvq.init" --levels 3
  fi
  trained "$out/actioncodec_rvq" "$TOKENIZER_STEPS" --policy.path="$out/actioncodec_rvq.init"
  for arch in vqvla nac; do
    trained "$out/$arch" "$PEER_STEPS" --policy.type=peer_tokenizer --policy.arch="$arch" "${chunking[@]}"
  done
  echo "== $name: actioncodec-bench on the held-out episodes (--dataset.eval_split=$EVAL_SPLIT)"
  specs="binning;binning:bins=1000;fast"
  for arch in vqvla nac actioncodec; do specs+=";$out/$arch/checkpoints/last/pretrained_model"; done
  specs+=";$out/actioncodec_rvq/checkpoints/last/pretrained_model:levels=3"
  "$bin/actioncodec-bench" "${data[@]}" --dataset.eval_split "$EVAL_SPLIT" --tokenizers "$specs" \
    --chunk-seconds "$chunk_seconds" --output-dir "$out/bench" | tee "$out/bench.md"
done
