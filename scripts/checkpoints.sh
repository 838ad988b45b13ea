# Sourced by scripts/metaworld_protocol.sh.
# checkpoints_latest_first OUT RUN...: the saved checkpoints of the runs in OUT/runs, one per line, latest step
# first and every run at one step (in the order given) before any run at an earlier step, so that an evaluation
# stopped early has still compared all the runs at their final step.
checkpoints_latest_first() {
  local out=$1 step name checkpoint
  shift
  local steps
  steps=$(for checkpoint in "$out"/runs/*/policy/checkpoints/[0-9]*; do
    if [ -d "$checkpoint" ]; then basename "$checkpoint"; fi
  done | sort -ru)
  for step in $steps; do
    for name in "$@"; do
      checkpoint="$out/runs/$name/policy/checkpoints/$step"
      if [ -d "$checkpoint" ]; then echo "$checkpoint"; fi
    done
  done
}
