#!/bin/bash
# The cheap end of the sweep retrained the way runs are made now: one fixed held-out set of 500
# problems per task, excluded from every run's training (`--held-out-set fixed`), the held-out
# loss with its standard error, and the work counted (loss tokens, FLOPs). Same settings as
# run.sh otherwise. BUDGETS picks the IsoFLOP profiles (default: the two cheapest, ≈ 4 minutes on
# one core). Results in results-fixed/, logs in logs-fixed/, one row per run in runs-fixed.csv.
set -euo pipefail
cd "$(dirname "$0")"
BIN=${LLAMACL:-../../.build/release/llamacl}
CKPT=${SCALING_CKPT:-/work/scaling-ckpt}
BUDGETS=${BUDGETS:-"3e11 1e12"}
mkdir -p results-fixed logs-fixed "$CKPT"
echo "name,budget,dim,layers,heads,parameters,tokens,tokens_loss,flops_6nd,flops_actual,held_out_items,held_out_loss,held_out_loss_se,per_seed_held_out_loss" > runs-fixed.csv.tmp
tail -n +2 grid.csv | while IFS=, read -r budget dim layers heads params; do
  case " $BUDGETS " in *" $budget "*) ;; *) continue ;; esac
  name="c${budget}_d${dim}l${layers}"
  tokens=$(awk "BEGIN{s=int($budget/(6*$params)/1024+0.5); if(s<1)s=1; print s*1024}")
  if [ ! -f "results-fixed/$name.json" ]; then
    "$BIN" train --task arithmetic --digits 3 --operations "+-" --dim "$dim" --layers "$layers" --heads "$heads" \
      --tokens "$tokens" --held-out-set fixed --seed 1 --threads 1 --held-out 500 --eval-every 250 --log-every 50 \
      --out "$CKPT/$name-fixed.gguf" --log "logs-fixed/$name.jsonl" --json > "results-fixed/$name.json.tmp" < /dev/null
    mv "results-fixed/$name.json.tmp" "results-fixed/$name.json"
  fi
  f="results-fixed/$name.json"
  get() { grep -o "\"$1\":[^,}]*" "$f" | head -1 | cut -d: -f2; }
  old=$(grep -o '"held_out_loss":[^,}]*' "results/$name.json" 2>/dev/null | cut -d: -f2 || true)
  echo "$name,$budget,$dim,$layers,$heads,$params,$(get tokens_total),$(get tokens_loss),$(get flops_6nd),$(get flops_actual),$(get held_out_items),$(get held_out_loss),$(get held_out_loss_se),$old" >> runs-fixed.csv.tmp
  echo "$name: held-out $(get held_out_loss) ± $(get held_out_loss_se) on $(get held_out_items) problems (per-seed set: $old)" >&2
done
mv runs-fixed.csv.tmp runs-fixed.csv
