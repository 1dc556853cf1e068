#!/bin/bash
# The exchange-rate experiment: pretraining compute vs test-time compute on graded arithmetic.
#
#   bash run.sh                    every stage in order, JOBS units at a time (default 2)
#   bash run.sh STAGE              one stage: lr, train, verifier, sample, score, report
#   bash run.sh units STAGE        the stage's unit ids, one per line (for a Slurm array)
#   bash run.sh unit STAGE ID      one unit (what a Slurm array task runs; see slurm.sh)
#
# Resumable: a unit whose result file exists is skipped; sampling resumes inside a file.
# Stages: lr (a learning-rate sweep per size), train (sizes × token budgets × seeds, each size at
# its best learning rate), verifier (one small verifier model), sample (n samples per problem at
# each temperature, for every trained model), score (the verifier's score for every distinct
# answer), report (iso-accuracy contours, exchange rate, total cost). Small results go under
# runs/ and results/ of $EXCHANGE_OUT (default: this folder, where they are committed);
# checkpoints and sample tallies go to $EXCHANGE_DATA (default /work/exchange-data), outside
# the repository. Every setting below can be given in the environment.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${LLAMACL:-$(cd "$HERE/../.." && pwd)/.build/release/llamacl}
SIZES=${SIZES:-$HERE/sizes.csv}
cd "${EXCHANGE_OUT:-$HERE}"
DATA=${EXCHANGE_DATA:-/work/exchange-data}
JOBS=${JOBS:-2}
SEEDS=${SEEDS:-"1 2 3"}
TOKENS=${TOKENS:-"2000000 8000000 32000000"}
LRS=${LRS:-"0.001 0.003 0.01"}
LR_TOKENS=${LR_TOKENS:-2000000}
PROBLEMS=${PROBLEMS:-1024}
N=${N:-1024}
TEMPERATURES=${TEMPERATURES:-"0.7,1.0"}
# The k values of the report: powers of 2 up to N.
K=${K:-$(k=1; list=""; while [ "$k" -le "$N" ]; do list="$list${list:+,}$k"; k=$((k * 2)); done; echo "$list")}
# The verifier: one small model, trained once; its training and inference FLOPs are counted.
VERIFIER_SIZE=${VERIFIER_SIZE:-s55k}
VERIFIER_TOKENS=${VERIFIER_TOKENS:-32000000}
# Half of the verifier's training items are the questions themselves, answered (see README).
VERIFIER_GENERATION=${VERIFIER_GENERATION:-0.5}
mkdir -p runs/lr runs/train runs/verifier results "$DATA/models" "$DATA/samples"

size_row() { awk -F, -v s="$1" '$1 == s { print $2, $3, $4 }' "$SIZES"; }
sizes() { tail -n +2 "$SIZES" | cut -d, -f1; }

# The learning rate of a size: the lowest held-out loss of its sweep.
best_lr() {
  python3 - "$1" <<'PY'
import glob, json, sys
best = min((json.load(open(f))["held_out_loss"], f) for f in glob.glob(f"runs/lr/{sys.argv[1]}-lr*.json"))
print(best[1].rsplit("-lr", 1)[1][:-5])
PY
}

units() {
  case "$1" in
    lr) for s in $(sizes); do for lr in $LRS; do echo "$s-lr$lr"; done; done ;;
    train) for s in $(sizes); do for t in $TOKENS; do for seed in $SEEDS; do echo "$s-t$t-s$seed"; done; done; done ;;
    verifier) echo verifier ;;
    sample|score) units train ;;
    report) echo report ;;
    *) echo "unknown stage '$1'" >&2; exit 2 ;;
  esac
}

train_model() {  # name size tokens seed lr out-json [task [extra train options...]]
  local name=$1 size=$2 tokens=$3 seed=$4 lr=$5 json=$6 task=${7:-graded-arithmetic}
  local extra=("${@:8}")
  read -r dim layers heads < <(size_row "$size")
  [ -n "$dim" ] || { echo "unknown size $size" >&2; exit 2; }
  "$BIN" train --task "$task" --dim "$dim" --layers "$layers" --heads "$heads" --tokens "$tokens" --lr "$lr" \
    --held-out "$PROBLEMS" --seed "$seed" --threads 1 --eval-every 0 --log-every 100 \
    --out "$DATA/models/$name.gguf" --log "$json.log.tmp" --json "${extra[@]}" > "$json.tmp" < /dev/null
  mv "$json.log.tmp" "${json%.json}.log.jsonl"; mv "$json.tmp" "$json"
}

unit() {
  local stage=$1 id=$2
  case "$stage" in
    lr)
      [ -f "runs/lr/$id.json" ] && return 0
      train_model "lr-$id" "${id%%-lr*}" "$LR_TOKENS" 1 "${id##*-lr}" "runs/lr/$id.json" ;;
    train)
      [ -f "runs/train/$id.json" ] && return 0
      local size=${id%%-t*} rest=${id#*-t}
      train_model "$id" "$size" "${rest%%-s*}" "${rest##*-s}" "$(best_lr "$size")" "runs/train/$id.json" ;;
    verifier)
      [ -f runs/verifier/verifier.json ] && return 0
      train_model verifier "$VERIFIER_SIZE" "$VERIFIER_TOKENS" 1 "$(best_lr "$VERIFIER_SIZE")" runs/verifier/verifier.json verify-graded-arithmetic \
        --generation-share "$VERIFIER_GENERATION" ;;
    sample)
      [ -f "$DATA/samples/$id/done" ] && return 0
      "$BIN" exchange-rate sample -m "$DATA/models/$id.gguf" --problems "$PROBLEMS" --n "$N" --temperatures "$TEMPERATURES" \
        --seed 7 --threads 1 --out "$DATA/samples/$id" --quiet
      touch "$DATA/samples/$id/done" ;;
    score)
      [ -f "$DATA/samples/$id/scored" ] && return 0
      "$BIN" exchange-rate score --verifier "$DATA/models/verifier.gguf" --score likelihood --samples "$DATA/samples/$id" --temperatures "$TEMPERATURES" --threads 1
      touch "$DATA/samples/$id/scored" ;;
    report)
      "$BIN" exchange-rate report --runs runs/train --verifier runs/verifier/verifier.json --samples "$DATA/samples" \
        --temperatures "$TEMPERATURES" --k "$K" --out results | tee results/summary.txt ;;
  esac
}

stage() {
  echo "$(date -u +%H:%M:%S) stage $1: $(units "$1" | wc -l) units, $JOBS at a time" >&2
  export -f unit train_model size_row sizes best_lr units
  export BIN SIZES DATA SEEDS TOKENS LRS LR_TOKENS PROBLEMS N TEMPERATURES K VERIFIER_SIZE VERIFIER_TOKENS VERIFIER_GENERATION
  units "$1" | xargs -P "$JOBS" -I{} bash -c 'unit "$0" "$1"' "$1" {}
}

case "${1:-all}" in
  all) for s in lr train verifier sample score report; do stage "$s"; done ;;
  units) units "$2" ;;
  unit) unit "$2" "$3" ;;
  *) stage "$1" ;;
esac
