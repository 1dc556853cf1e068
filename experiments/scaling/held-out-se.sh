#!/bin/bash
# The standard error of the committed final held-out losses, for the runs whose checkpoints are at
# hand (the five in ../compute-matched/models; all of them if $SCALING_CKPT holds the sweep's):
# `llamacl train --evaluate` rebuilds each run's held-out set exactly as run.sh did (seed 1,
# --held-out-set per-seed), reproduces its held_out_loss and adds the error over held-out examples.
# Writes held-out-se.csv.
set -euo pipefail
cd "$(dirname "$0")"
BIN=${LLAMACL:-../../.build/release/llamacl}
CKPT=${SCALING_CKPT:-/work/scaling-ckpt}
out=held-out-se.csv.tmp
echo "name,parameters,tokens,held_out_loss,held_out_loss_se,held_out_examples,held_out_predictions,committed_held_out_loss" > "$out"
tail -n +2 runs.csv | while IFS=, read -r name budget dim layers heads params total tokens flops loss train seconds; do
  model=../compute-matched/models/$name.gguf
  [ -f "$model" ] || model=$CKPT/$name.gguf
  [ -f "$model" ] || continue
  json=$("$BIN" train --task arithmetic --digits 3 --operations "+-" --dim "$dim" --layers "$layers" --heads "$heads" \
    --tokens "$tokens" --seed 1 --held-out 500 --held-out-set per-seed --evaluate "$model" --threads 1 < /dev/null)
  get() { echo "$json" | grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2; }
  echo "$name,$params,$tokens,$(get held_out_loss),$(get held_out_loss_se),$(get held_out_examples),$(get held_out_predictions),$loss" >> "$out"
  echo "$name: $(get held_out_loss) ± $(get held_out_loss_se) over $(get held_out_examples) examples (committed $loss)" >&2
done
mv "$out" held-out-se.csv
