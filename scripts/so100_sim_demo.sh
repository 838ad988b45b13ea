#!/usr/bin/env bash
# The SO-100 loop offline on the simulated arm, with LeRobot's own scripts, on the CPU:
#   1. lerobot-record: the scripted leader (--teleop.type=so100_sim_leader) drives the simulated follower
#      (--robot.type=so100_sim), RECORD_EPISODES episodes of EPISODE_TIME_S seconds into a LeRobotDataset,
#   2. lerobot-train: the ActionCodec tokenizer on the recorded actions (embodiment so100), then its metrics,
#   3. lerobot-train: the `actioncodec` policy with the CPU preset (configs/so100/policy_cpu.json),
#   4. lerobot-rollout (INFERENCE=sync, or rtc) on the simulated follower with the deploy limits
#      (--robot.max_relative_target), until ROLLOUT_EPISODES episodes have finished; prints their success rate,
#      how far the sent targets moved between frames, and the wall time of every stage.
# The real-arm commands in docs/so100.md use the same presets with only the robot and teleop types changed.
# The recording is kept between runs (skipped when complete); training and the rollout start afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RUN_DIR=${RUN_DIR:-outputs/so100_sim}
REPO_ID=local/so100_sim
EMBODIMENT=so100
POLICY_PRESET=configs/so100/policy_cpu.json
TASK="Put the cube on the green spot"
RECORD_EPISODES=${RECORD_EPISODES:-60}
EPISODE_TIME_S=${EPISODE_TIME_S:-10}   # per recorded episode; the scripted demonstration takes about 6 s
ROLLOUT_EPISODES=${ROLLOUT_EPISODES:-20}
ROLLOUT_EPISODE_TIME_S=${ROLLOUT_EPISODE_TIME_S:-12}  # simulated seconds before a rollout episode counts as failed
MAX_RELATIVE_TARGET=${MAX_RELATIVE_TARGET:-10}  # degrees (gripper: percent) per 1/30 s step, the deploy limit
INFERENCE=${INFERENCE:-sync}  # lerobot-rollout's engine: sync, or rtc (chunks predicted while the arm moves)
source scripts/preset.sh
POLICY_STEPS=${POLICY_STEPS:-$(preset "$POLICY_PRESET" steps)}
source scripts/lib.sh
mkdir -p "$RUN_DIR"
rm -rf "$RUN_DIR/tokenizer" "$RUN_DIR/policy" "$RUN_DIR/rollout" "$RUN_DIR/stage_times.tsv"

record() {
  local info="$RUN_DIR/dataset/meta/info.json"
  if [ -f "$info" ] && [ "$(preset "$info" total_episodes)" = "$RECORD_EPISODES" ]; then
    echo "   kept: $RUN_DIR/dataset already holds $RECORD_EPISODES episodes"
    return 0
  fi
  rm -rf "$RUN_DIR/dataset"
  "$bin/lerobot-record" --robot.type=so100_sim --robot.episode_time_s="$EPISODE_TIME_S" \
    --robot.results_path="$RUN_DIR/record_results.json" --teleop.type=so100_sim_leader \
    "${dataset[@]}" --dataset.single_task="$TASK" --dataset.fps=30 --dataset.num_episodes="$RECORD_EPISODES" \
    --dataset.episode_time_s="$EPISODE_TIME_S" --dataset.reset_time_s=0 --dataset.video=false \
    --dataset.push_to_hub=false --play_sounds=false
}
rollout() {
  "$bin/lerobot-rollout" --strategy.type=base --inference.type="$INFERENCE" \
    --policy.path="$RUN_DIR/policy/checkpoints/last/pretrained_model" \
    --policy.device="$DEVICE" --robot.type=so100_sim --robot.max_relative_target="$MAX_RELATIVE_TARGET" \
    --robot.episode_clock=sim --robot.episode_time_s="$ROLLOUT_EPISODE_TIME_S" --robot.end_on_success=true \
    --robot.stop_after_episodes="$ROLLOUT_EPISODES" --robot.seed=1000 \
    --robot.results_path="$RUN_DIR/rollout/results.json" --task="$TASK" --fps=30 --duration=0 \
    --return_to_initial_position=false --play_sounds=false
}
summary() {
  "$bin/python" -c 'import json, sys
for name, path in (("scripted demonstrations", sys.argv[1]), ("policy rollout", sys.argv[2])):
    r = json.load(open(path))
    line = "%s: %d of %d episodes succeeded" % (name, r["successes"], r["episodes"])
    if r.get("target_step_max") is not None:  # the largest change of the sent targets between frames
        by_key = r.get("target_step_max_by_key") or {"?": r["target_step_max"]}
        line += "; targets moved at most %.1f (%s; mean %.2f) per frame, %d frames capped by max_relative_target" % (
            r["target_step_max"], max(by_key, key=by_key.get), r["target_step_mean"], r["capped_steps"])
    print(line)' "$RUN_DIR/record_results.json" "$RUN_DIR/rollout/results.json"
}

echo "== 1/4 lerobot-record: so100_sim_leader -> so100_sim, $RECORD_EPISODES episodes of ${EPISODE_TIME_S}s -> $RUN_DIR/dataset"
stage record record
echo "== 2/4 lerobot-train --policy.type=actioncodec_tokenizer ($TOKENIZER_STEPS steps, $DEVICE), then its metrics"
stage tokenizer train_demo_tokenizer_with_metrics
echo "== 3/4 lerobot-train --config_path=$POLICY_PRESET ($POLICY_STEPS steps, $DEVICE)"
stage policy train_preset_policy
echo "== 4/4 lerobot-rollout on so100_sim until $ROLLOUT_EPISODES episodes have finished"
stage rollout rollout
echo "== success"
summary
echo "== wall time per stage (seconds)"
cat "$RUN_DIR/stage_times.tsv"
