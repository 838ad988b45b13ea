# The tokenizer benchmark's corpora and training step (sourced after scripts/lib.sh, not run): shared by
# scripts/tokenizer_benchmark.sh and scripts/plan_benchmark.sh, so both train on the same episodes the same way.
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
