#!/bin/bash
# Seed replicates of runs near the loss cliff (same settings as run.sh, another --seed): how
# much of the IsoFLOP profile is seed noise. Resumable like run.sh; results in results-seeds/,
# not part of the fit. Writes seeds-runs.csv.
set -euo pipefail
# The committed runs were scored on per-run held-out sets (500 problems of a seed derived from the
# run's, minus its training problems: 89-499 problems). Extending this sweep keeps that, so its runs
# stay comparable; a new sweep should use HELD_OUT_SET=fixed (one set of 500 per task, excluded
# from every run's training; the default of `llamacl train`).
HELD_OUT_SET=${HELD_OUT_SET:-per-seed}
cd "$(dirname "$0")"
BIN=${LLAMACL:-../../.build/release/llamacl}
CKPT=${SCALING_CKPT:-/work/scaling-ckpt}
THREADS=${LLAMACL_THREADS:-1}
mkdir -p results-seeds logs-seeds "$CKPT"
tail -n +2 seeds.csv | while IFS=, read -r budget dim layers heads params seed; do
  name="c${budget}_d${dim}l${layers}_s${seed}"
  [ -f "results-seeds/$name.json" ] && continue
  tokens=$(awk "BEGIN{s=int($budget/(6*$params)/1024+0.5); if(s<1)s=1; print s*1024}")
  echo "$(date -u +%H:%M:%S) $name: N=$params D=$tokens" >&2
  "$BIN" train --task arithmetic --digits 3 --operations "+-" --dim "$dim" --layers "$layers" --heads "$heads" \
    --tokens "$tokens" --held-out-set "$HELD_OUT_SET" --seed "$seed" --threads "$THREADS" --held-out 500 --eval-every 250 --log-every 50 \
    --out "$CKPT/$name.gguf" --log "logs-seeds/$name.jsonl" --json > "results-seeds/$name.json.tmp" < /dev/null
  mv "results-seeds/$name.json.tmp" "results-seeds/$name.json"
done
echo "name,budget,dim,layers,parameters,seed,tokens,held_out_loss" > seeds-runs.csv
tail -n +2 seeds.csv | while IFS=, read -r budget dim layers heads params seed; do
  name="c${budget}_d${dim}l${layers}_s${seed}"; f="results-seeds/$name.json"
  [ -f "$f" ] || continue
  get() { grep -o "\"$1\":[^,}]*" "$f" | head -1 | cut -d: -f2; }
  echo "$name,$budget,$dim,$layers,$params,$seed,$(get tokens),$(get held_out_loss)" >> seeds-runs.csv
done
cat seeds-runs.csv
