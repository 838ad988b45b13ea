# Steps shared by the demo and comparison scripts (sourced, not run). Sizes come from the environment with the
# demo's defaults, so every script trains and evaluates with the same recipe.
source scripts/preset.sh
RUN_DIR=${RUN_DIR:-outputs/demo}
TASKS=${TASKS:-drawer-close-v3}
EPISODES_PER_TASK=${EPISODES_PER_TASK:-20}
IMAGE_SIZE=${IMAGE_SIZE:-128}
TOKENIZER_STEPS=${TOKENIZER_STEPS:-600}  # the CPU preset (configs/tokenizer_cpu.json: 1,500) shortened for the demo
POLICY_STEPS=${POLICY_STEPS:-800}
POLICY_BATCH_SIZE=${POLICY_BATCH_SIZE:-16}
N_ACTION_STEPS=${N_ACTION_STEPS:-10}
EVAL_EPISODES=${EVAL_EPISODES:-10}
DEVICE=${DEVICE:-cpu}
REPO_ID=${REPO_ID:-local/metaworld_experts}
EMBODIMENT=${EMBODIMENT:-metaworld_sawyer}  # the demonstrations' row in configs/embodiments.json
bin=.venv/bin
dataset=(--dataset.repo_id="$REPO_ID" --dataset.root="$RUN_DIR/dataset")
# the same episodes without cameras, for the tokenizers (train_actioncodec_tokenizer writes it)
actions=(--dataset.repo_id="${REPO_ID}_actions" --dataset.root="$RUN_DIR/actions")
export HF_HUB_OFFLINE=1 WANDB_MODE=disabled

# The demo's ActionCodec tokenizer checkpoint (train_actioncodec_tokenizer "$RUN_DIR/tokenizer" writes it).
DEMO_TOKENIZER="$RUN_DIR/tokenizer/checkpoints/last/pretrained_model"

# MetaWorld scripted-expert demonstrations into $RUN_DIR/dataset (resumes; skipped when complete).
collect_demonstrations() {
  "$bin/actioncodec-collect-metaworld" --root "$RUN_DIR/dataset" --repo-id "$REPO_ID" --tasks "$TASKS" \
    --episodes-per-task "$EPISODES_PER_TASK" --image-size "$IMAGE_SIZE"
}

# without_cameras REPO_ID ROOT OUT_ROOT: a copy of a dataset without its camera features, written by LeRobot's
# lerobot-edit-dataset (remove_feature); the same episodes, actions and tasks. The tokenizers read actions only,
# and decoding a video frame per sample is most of a tokenizer training step on a CPU. Kept while it holds the
# dataset's episodes and frames; made again when the dataset was recorded or collected again.
without_cameras() {
  local repo=$1 root=$2 out=$3
  if [ -f "$out/meta/info.json" ] && [ "$(dataset_size "$out")" = "$(dataset_size "$root")" ]; then return 0; fi
  local cameras
  cameras=$("$bin/python" -c 'import json, sys
features = json.load(open(sys.argv[1]))["features"]
print([k for k, v in features.items() if v["dtype"] in ("video", "image")])' "$root/meta/info.json")
  rm -rf "$out"
  if [ "$cameras" = "[]" ]; then ln -s "$(realpath "$root")" "$out"; return 0; fi
  "$bin/lerobot-edit-dataset" --repo_id "$repo" --root "$root" --new_repo_id "${repo}_actions" --new_root "$out" \
    --operation.type remove_feature --operation.feature_names "$cameras"
}

# dataset_size ROOT: "episodes frames" of a LeRobotDataset, from its meta/info.json.
dataset_size() {
  echo "$(preset "$1/meta/info.json" total_episodes) $(preset "$1/meta/info.json" total_frames)"
}

# stage NAME COMMAND...: run COMMAND and append "NAME<TAB>seconds" to $RUN_DIR/stage_times.tsv (wall time).
stage() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  printf '%s\t%s\n' "$name" "$((SECONDS - start))" >>"$RUN_DIR/stage_times.tsv"
}

# train_actioncodec_tokenizer OUT: lerobot-train with the CPU preset (configs/tokenizer_cpu.json) on the
# demonstrations' actions, $TOKENIZER_STEPS steps of it.
train_actioncodec_tokenizer() {
  without_cameras "$REPO_ID" "$RUN_DIR/dataset" "$RUN_DIR/actions"
  "$bin/lerobot-train" --config_path=configs/tokenizer_cpu.json --policy.device="$DEVICE" \
    --policy.embodiment_registry=configs/embodiments.json --policy.embodiment="$EMBODIMENT" "${actions[@]}" \
    --steps="$TOKENIZER_STEPS" --save_freq="$TOKENIZER_STEPS" --output_dir="$1"
}

# train_demo_tokenizer_with_metrics: the demo's tokenizer in $RUN_DIR/tokenizer, then its metrics.json and
# report.png in $RUN_DIR (reconstruction, overlap and code usage on the demonstrations' actions).
train_demo_tokenizer_with_metrics() {
  train_actioncodec_tokenizer "$RUN_DIR/tokenizer"
  "$bin/actioncodec-tokenizer-metrics" --checkpoint "$DEMO_TOKENIZER" "${actions[@]}" \
    --output "$RUN_DIR/metrics.json" --report "$RUN_DIR/report.png"
}

# post_train_rvq TOKENIZER OUT: RVQ post-training of a VQ tokenizer (3 levels; the encoder and level 0 frozen).
post_train_rvq() {
  rm -rf "$2.init"
  without_cameras "$REPO_ID" "$RUN_DIR/dataset" "$RUN_DIR/actions"
  "$bin/actioncodec-rvq" prepare --from "$1" --out "$2.init" --levels 3
  "$bin/lerobot-train" --policy.path="$2.init" --policy.device="$DEVICE" "${actions[@]}" \
    --steps="$TOKENIZER_STEPS" --batch_size=64 --num_workers=0 --log_freq=100 --save_freq="$TOKENIZER_STEPS" \
    --output_dir="$2"
}

# train_policy TOKENIZER OUT [TYPE [FLAG...]]: a policy (compact backbone; TYPE actioncodec by default, or
# actioncodec_pd, actioncodec_bar, actioncodec_ki) on any saved tokenizer, with any further lerobot-train flags.
train_policy() {
  "$bin/lerobot-train" --policy.type="${3:-actioncodec}" --policy.backbone=compact --policy.tokenizer_path="$1" \
    --policy.n_action_steps="$N_ACTION_STEPS" --policy.device="$DEVICE" "${dataset[@]}" \
    --steps="$POLICY_STEPS" --batch_size="$POLICY_BATCH_SIZE" --num_workers=0 --log_freq=100 \
    --save_freq="$POLICY_STEPS" --output_dir="$2" "${@:4}"
}

# train_preset_policy: the policy in $RUN_DIR/policy from the JSON preset $POLICY_PRESET on the demo's tokenizer,
# $POLICY_STEPS steps (the LIBERO and SO-100 demos).
train_preset_policy() {
  "$bin/lerobot-train" --config_path="$POLICY_PRESET" --policy.tokenizer_path="$DEMO_TOKENIZER" \
    --policy.device="$DEVICE" "${dataset[@]}" --steps="$POLICY_STEPS" --save_freq="$POLICY_STEPS" \
    --output_dir="$RUN_DIR/policy"
}

# evaluate_policy POLICY_RUN OUT: lerobot-eval in LeRobot's metaworld env, then success per task and the
# chunk-boundary table from the policy's rollout log.
evaluate_policy() {
  "$bin/lerobot-eval" --config_path=configs/eval/metaworld_demo.json --env.task="$TASKS" \
    --eval.n_episodes="$EVAL_EPISODES" --policy.path="$1/checkpoints/last/pretrained_model" \
    --policy.device="$DEVICE" --policy.rollout_log="$2/rollout_log.jsonl" --output_dir="$2"
  "$bin/actioncodec-eval-report" --eval-dir "$2" --output "$2/success.json"
}

# ensure_demo_tokenizer: train the demo's tokenizer unless a finished one is there.
ensure_demo_tokenizer() {
  [ -f "$DEMO_TOKENIZER/model.safetensors" ] || train_actioncodec_tokenizer "$RUN_DIR/tokenizer"
}

# compare_run OUT NAME TOKENIZER [TYPE [FLAG...]]: train and evaluate one policy in OUT/NAME, unless it was evaluated
# already (a comparison resumes where it stopped); either way, add it to the `runs` list of --eval-dir flags.
compare_run() {
  local dir="$1/$2" type="${4:-actioncodec}"
  if [ ! -f "$dir/eval/success.json" ]; then
    rm -rf "$dir"
    echo "-- $2: lerobot-train --policy.type=$type --policy.tokenizer_path=$3"
    train_policy "$3" "$dir/policy" "$type" "${@:5}"
    evaluate_policy "$dir/policy" "$dir/eval"
  fi
  runs+=(--eval-dir "$2=$dir/eval")
}

# report OUT INPUTS COMMAND...: COMMAND's markdown, shown and kept in OUT, unless OUT was written by a finished
# run of the same command and nothing under INPUTS (paths separated by ':', e.g. the dataset and the tokenizers'
# run directories) changed since: a script run again goes on without scoring every tokenizer again.
report() {
  local out=$1 inputs=() command
  IFS=: read -r -a inputs <<< "$2"
  shift 2
  command="$*"
  if [ -s "$out" ] && [ "$(cat "$out.command" 2> /dev/null)" = "$command" ] &&
    [ -z "$(find "${inputs[@]}" -newer "$out" -print -quit 2> /dev/null)" ]; then
    echo "(kept from an earlier run; remove $out to score again)"
    cat "$out"
    return 0
  fi
  rm -f "$out.command"
  "$@" | tee "$out"
  printf '%s\n' "$command" > "$out.command"
}
