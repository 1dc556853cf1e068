#!/bin/bash
# Honest units for the committed sweep, without retraining: `llamacl train --count-only` rebuilds
# each run's data and batches exactly as run.sh trained them (seed 1, --held-out-set per-seed, the
# held-out set those runs used) and counts what they processed. Writes runs-units.csv: runs.csv's
# columns plus tokens_loss (predictions that carried loss), tokens_padding, flops_6nd (6 · N · D,
# what runs.csv calls flops), flops_actual (forward + backward of every matrix product, output head
# and attention included), their ratio, and held_out_items (the problems each run was scored on).
set -euo pipefail
cd "$(dirname "$0")"
BIN=${LLAMACL:-../../.build/release/llamacl}
out=runs-units.csv.tmp
echo "name,budget,dim,layers,heads,parameters,total_parameters,tokens,tokens_loss,tokens_padding,flops_6nd,flops_actual,flops_ratio,held_out_items,held_out_loss" > "$out"
tail -n +2 runs.csv | while IFS=, read -r name budget dim layers heads params total tokens flops loss train seconds; do
  json=$("$BIN" train --task arithmetic --digits 3 --operations "+-" --dim "$dim" --layers "$layers" --heads "$heads" \
    --tokens "$tokens" --seed 1 --held-out 500 --held-out-set per-seed --count-only < /dev/null)
  get() { echo "$json" | grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2; }
  [ "$(get tokens_total)" = "$tokens" ] || { echo "$name: counted $(get tokens_total) tokens, runs.csv says $tokens" >&2; exit 1; }
  [ "$(get non_embedding_parameters)" = "$params" ] || { echo "$name: N differs" >&2; exit 1; }
  ratio=$(awk "BEGIN{printf \"%.4f\", $(get flops_actual)/$(get flops_6nd)}")
  echo "$name,$budget,$dim,$layers,$heads,$params,$total,$tokens,$(get tokens_loss),$(get tokens_padding),$(get flops_6nd),$(get flops_actual),$ratio,$(get held_out_items),$loss" >> "$out"
  echo "$name: actual/6ND $ratio, loss tokens $(get tokens_loss) of $tokens, held-out $(get held_out_items)" >&2
done
mv "$out" runs-units.csv
