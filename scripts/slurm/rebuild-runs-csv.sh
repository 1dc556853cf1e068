#!/bin/bash
# Rebuilds a scaling sweep's runs.csv from its grid and its per-run result JSONs, in the format
# that experiments/scaling/run.sh (rebuild_csv) writes: one line per grid row whose
# RESULTS_DIR/NAME.json exists (NAME = c<budget>_d<dim>l<layers>), in grid order.
# Usage: rebuild-runs-csv.sh GRID.csv RESULTS_DIR OUT.csv
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 GRID.csv RESULTS_DIR OUT.csv" >&2; exit 2; }
grid=$1 results=$2 out=$3
tmp="$out.tmp.$$"
echo "name,budget,dim,layers,heads,parameters,total_parameters,tokens,flops,held_out_loss,train_loss,seconds" > "$tmp"
tail -n +2 "$grid" | while IFS=, read -r budget dim layers heads params; do
  [ -n "$budget" ] || continue
  name="c${budget}_d${dim}l${layers}"
  f="$results/$name.json"
  [ -f "$f" ] || continue
  # A top-level field of the result (the nested provenance block repeats names like "tokens").
  get() { python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$f" "$1"; }
  tokens=$(get tokens)
  echo "$name,$budget,$dim,$layers,$heads,$params,$(get parameters),$tokens,$(awk "BEGIN{printf \"%.4g\", 6*$params*$tokens}"),$(get held_out_loss),$(get loss),$(get seconds)" >> "$tmp"
done
mv "$tmp" "$out"
