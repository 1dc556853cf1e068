#!/bin/bash
# End-to-end test of the Slurm scripts on a real single-node Slurm started on this machine
# (scripts/slurm/cluster.sh; needs root or sudo, installs slurm-wlm and munge with apt if
# missing). Builds nothing unless the llamacl binary is missing.
#
# Usage: scripts/slurm/test-slurm.sh
#   LLAMACL            llamacl binary (default <repo>/.build/release/llamacl; built with
#                      `swift build -c release --product llamacl` when missing)
#   LLAMACL_SLURM_TEST_DIR  work dir (default: a new /tmp/llamacl-slurm-test.XXXXXX, removed
#                      after a full pass unless KEEP=1; kept on failure)
#   SLURM_TEST_TIMEOUT seconds to wait for each group of jobs (default 300)
#
# Checks: (a) the built-in model's best-of-N run unsharded, directly; (b) the same as a 4-shard
# array + dependent merge equals it; (c) a shard made to fail (its output path blocked by a
# file): that element fails, the merge never runs, `llamacl best-of-n merge` refuses the
# incomplete set (and merges it with --allow-partial, marked partial), and resubmitting index 2 alone plus a new merge completes a run equal to (a);
# (d) a 5-run scaling sweep with its dependent fit; (e) the exchange-rate experiment's six stages
# as dependent arrays, at toy size. Prints PASS/FAIL per check and a closing
# "slurm: N passed, M failed" line; exits non-zero on any failure. The cluster is always stopped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

T0=$SECONDS
TIMEOUT=${SLURM_TEST_TIMEOUT:-300}
LLAMACL=${LLAMACL:-.build/release/llamacl}
case "$LLAMACL" in /*) ;; *) LLAMACL=$ROOT/$LLAMACL ;; esac
MODEL=$ROOT/models/arithmetic.gguf
BON=(--task arithmetic --digits 3 --operations + --max-tokens 8 --temp 1.0 --seed 7 --batch 16
     --problems 40 --n 8 --k 1,2,4,8)

passed=0 failed=0 failures=()
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL: $*"; }
info() { echo "[$((SECONDS - T0))s] $*"; }

if [ -n "${LLAMACL_SLURM_TEST_DIR:-}" ]; then WORK=$LLAMACL_SLURM_TEST_DIR; mkdir -p "$WORK"
else WORK=$(mktemp -d /tmp/llamacl-slurm-test.XXXXXX); fi
# The test's cluster has its own state dir (so it never stops a cluster someone else runs).
export LLAMACL_SLURM_DIR=$WORK/cluster
cluster_started=0
reached_end=0

finish() {
  local rc=$?
  if [ $cluster_started -eq 1 ]; then "$HERE/cluster.sh" stop || true; fi
  [ $reached_end -eq 1 ] || [ $failed -gt 0 ] || fail "test script stopped early (exit $rc)"
  echo
  for f in "${failures[@]}"; do echo "failed: $f"; done
  echo "runtime: $((SECONDS - T0)) s; work dir: $WORK"
  echo "slurm: $passed passed, $failed failed"
  if [ $failed -eq 0 ] && [ "${KEEP:-0}" != 1 ] && [ -z "${LLAMACL_SLURM_TEST_DIR:-}" ]; then
    rm -rf "$WORK"
  fi
  [ $failed -eq 0 ] && exit 0 || exit 1
}
trap finish EXIT

# --- set-up ----------------------------------------------------------------------------------
command -v python3 >/dev/null 2>&1 || { fail "python3 is needed for the comparisons"; exit 1; }
[ -f "$MODEL" ] || { fail "built-in model $MODEL missing"; exit 1; }
if [ ! -x "$LLAMACL" ]; then
  info "no $LLAMACL: building it"
  source scripts/setup.sh
  flock /tmp/swift-build.lock swift build -c release --product llamacl
  LLAMACL=$ROOT/.build/release/llamacl
fi
export LLAMACL

# Free loopback ports for slurmctld/slurmd (another cluster may use 6817/6818).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${LLAMACL_SLURM_CTLD_PORT:-}" ]; then
  for base in 6817 6827 6837 6847 6857 16817 26817; do
    port_busy "$base" || port_busy "$((base + 1))" || break
  done
  export LLAMACL_SLURM_CTLD_PORT=$base LLAMACL_SLURM_D_PORT=$((base + 1))
fi

info "starting Slurm (state in $LLAMACL_SLURM_DIR, ports $LLAMACL_SLURM_CTLD_PORT/$LLAMACL_SLURM_D_PORT)"
cluster_started=1
if env_line=$("$HERE/cluster.sh" start); then
  eval "$env_line"
  pass "cluster: single-node Slurm up ($(sinfo -h -o '%P %D %T %c CPUs' | head -1))"
else
  fail "cluster: cluster.sh start failed"
  exit 1
fi

# --- helpers ---------------------------------------------------------------------------------
# job_lines ID: one line per job/array element: "TASK STATE REASON RUNTIME" (TASK '-' if no array).
job_lines() {
  scontrol show job -o "$1" 2>/dev/null | while read -r line; do
    local task state reason run
    task=$(grep -o 'ArrayTaskId=[^ ]*' <<< "$line" | cut -d= -f2); task=${task:--}
    state=$(grep -o 'JobState=[^ ]*' <<< "$line" | cut -d= -f2)
    reason=$(grep -o ' Reason=[^ ]*' <<< "$line" | cut -d= -f2)
    run=$(grep -o 'RunTime=[^ ]*' <<< "$line" | cut -d= -f2)
    echo "$task $state $reason $run"
  done
}
# state ID [TASK]
state() { job_lines "$1" | awk -v t="${2:--}" '$1 == t {print $2; exit}'; }
settled() {  # every element finished, or waits on a dependency that can never be satisfied
  local lines; lines=$(job_lines "$1")
  [ -n "$lines" ] || return 1
  ! awk '!($2 ~ /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)$/ ||
          ($2 == "PENDING" && $3 == "DependencyNeverSatisfied")) {bad = 1} END {exit !bad}' <<< "$lines"
}
# wait_jobs WHAT ID...: waits (at most $TIMEOUT s) until all the jobs settled.
wait_jobs() {
  local what=$1; shift
  local t0=$SECONDS id all
  while :; do
    all=1
    for id in "$@"; do settled "$id" || { all=0; break; }; done
    [ $all -eq 1 ] && { info "$what: jobs $* settled"; return 0; }
    if [ $((SECONDS - t0)) -ge "$TIMEOUT" ]; then
      echo "timeout: jobs $* of '$what' not finished after ${TIMEOUT}s" >&2
      squeue >&2 || true
      for id in "$@"; do job_lines "$id" | sed "s/^/  job $id: /" >&2; done
      return 1
    fi
    sleep 1
  done
}
show_logs() {  # show_logs DIR: the Slurm job logs, on failure
  for f in "$1"/*.out; do [ -f "$f" ] && { echo "----- $f"; tail -n 20 "$f"; }; done
}
all_completed() {  # all_completed ID: every element COMPLETED
  local lines; lines=$(job_lines "$1")
  [ -n "$lines" ] && ! awk '$2 != "COMPLETED" {bad = 1} END {exit !bad}' <<< "$lines"
}
submitted() { sed -n "s/^$1=//p" <<< "$2"; }

# --- (a) unsharded, directly -----------------------------------------------------------------
info "(a) best-of-n unsharded"
if "$LLAMACL" best-of-n -m "$MODEL" "${BON[@]}" --threads 1 --out "$WORK/direct" --quiet \
     > "$WORK/direct.log" 2>&1 && [ -f "$WORK/direct/summary.json" ]; then
  pass "a: unsharded best-of-n (40 problems x 8 samples) ran directly"
else
  cat "$WORK/direct.log"; fail "a: unsharded best-of-n failed"; exit 1
fi

# --- (b) 4-shard array + dependent merge -----------------------------------------------------
info "(b) 4-shard array + merge"
OUT=$WORK/bon
ids=$("$HERE/submit-best-of-n.sh" --model "$MODEL" --out "$OUT" --shards 4 --partition debug \
       --cpus-per-task 1 --time 10 -- "${BON[@]}")
arr=$(submitted array_job "$ids"); mrg=$(submitted merge_job "$ids")
if wait_jobs "b" "$arr" "$mrg" && all_completed "$arr" && all_completed "$mrg"; then
  pass "b: array job $arr (4 shards) and merge job $mrg completed"
else
  show_logs "$OUT/logs"; fail "b: shard or merge jobs did not complete"
fi
if [ -f "$OUT/merged/summary.json" ] && python3 "$HERE/compare-best-of-n.py" "$WORK/direct" "$OUT/merged"; then
  pass "b: merged 4-shard run equals the unsharded run"
else
  fail "b: merged 4-shard run differs from the unsharded run (or is missing)"
fi

# --- (c) a failing shard, the refused merge, resubmission of that index ----------------------
info "(c) shard 2 blocked"
OUT=$WORK/bon-fail
mkdir -p "$OUT/shards"
echo "blocks the shard directory on purpose" > "$OUT/shards/2"
ids=$("$HERE/submit-best-of-n.sh" --model "$MODEL" --out "$OUT" --shards 4 --time 10 -- "${BON[@]}")
arr=$(submitted array_job "$ids"); mrg=$(submitted merge_job "$ids")
wait_jobs "c" "$arr" "$mrg" || true
s=$(for t in 0 1 2 3; do printf '%s ' "$t:$(state "$arr" "$t")"; done)
if [ "$s" = "0:COMPLETED 1:COMPLETED 2:FAILED 3:COMPLETED " ]; then
  pass "c: shard 2 (blocked) failed, shards 0, 1, 3 completed"
else
  show_logs "$OUT/logs"; fail "c: expected only shard 2 to fail, got: $s"
fi
ms=$(job_lines "$mrg" | head -1)
read -r _ mstate mreason mrun <<< "$ms"
if { [ "$mstate" = PENDING ] && [ "$mreason" = DependencyNeverSatisfied ]; } \
   || { [ "$mstate" = CANCELLED ] && [ "$mrun" = 00:00:00 ]; }; then
  if [ ! -e "$OUT/merged" ] && [ ! -e "$OUT/logs/bon-merge-$mrg.out" ]; then
    pass "c: merge job $mrg never ran ($mstate, $mreason)"
  else
    fail "c: merge job $mrg left output although its dependency failed"
  fi
else
  fail "c: merge job $mrg should wait on a never-satisfied dependency, is: $ms"
fi
[ "$mstate" != PENDING ] || scancel "$mrg" || true

# Direct merges of the incomplete set must be refused.
B="$LLAMACL best-of-n merge"
if $B --out "$WORK/c-merge-blocked" "$OUT"/shards/{0,1,2,3} > "$WORK/c-merge-blocked.log" 2>&1; then
  fail "c: llamacl best-of-n merge accepted shard 2 = a plain file (exit 0)"
else
  pass "c: llamacl best-of-n merge refuses when shard 2 is not a shard directory"
fi
if $B --out "$WORK/c-merge-missing" "$OUT"/shards/{0,1,3} > "$WORK/c-merge-missing.log" 2>&1; then
  fail "c: llamacl best-of-n merge accepted shards 0,1,3 of 4 (index 2 missing) with exit 0: $(grep -m1 'problems' "$WORK/c-merge-missing.log")"
else
  pass "c: llamacl best-of-n merge refuses shards 0,1,3 of 4 ($(tail -n 1 "$WORK/c-merge-missing.log"))"
fi
if $B --out "$WORK/c-merge-partial" --allow-partial "$OUT"/shards/{0,1,3} > "$WORK/c-merge-partial.log" 2>&1 \
   && python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("partial") else 1)' \
        "$WORK/c-merge-partial/summary.json"; then
  pass "c: llamacl best-of-n merge --allow-partial merges shards 0,1,3 and marks the summary partial"
else
  tail -n 3 "$WORK/c-merge-partial.log"; fail "c: merge --allow-partial of shards 0,1,3 failed or is not marked partial"
fi
# A complete set of 4 shards (from (b)) in which shard 1 lost its last sample line.
P=$WORK/bon/shards
rm -rf "$WORK/short1"; cp -r "$P/1" "$WORK/short1"
sed -i '$d' "$WORK/short1/samples.jsonl"
if $B --out "$WORK/c-merge-short" "$P/0" "$WORK/short1" "$P/2" "$P/3" > "$WORK/c-merge-short.log" 2>&1; then
  fail "c: llamacl best-of-n merge accepted a shard with a sample missing (exit 0)"
else
  pass "c: llamacl best-of-n merge refuses a shard with too few samples ($(tail -n 1 "$WORK/c-merge-short.log"))"
fi

info "(c) resubmitting index 2"
rm -f "$OUT/shards/2"
ids=$("$HERE/submit-best-of-n.sh" --model "$MODEL" --out "$OUT" --shards 4 --indices 2 --time 10 -- "${BON[@]}")
arr2=$(submitted array_job "$ids"); mrg2=$(submitted merge_job "$ids")
if wait_jobs "c-resubmit" "$arr2" "$mrg2" && all_completed "$arr2" && all_completed "$mrg2" \
   && [ "$(job_lines "$arr2" | awk '{print $1}' | tr '\n' ' ')" = "2 " ]; then
  pass "c: resubmitted index 2 alone (job $arr2) and the new merge (job $mrg2) completed"
else
  show_logs "$OUT/logs"; fail "c: resubmitted shard 2 or its merge did not complete"
fi
if python3 - "$OUT/shards/2/run.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["shard"]
sys.exit(0 if (s["index"], s["count"]) == (2, 4) else 1)
EOF
then pass "c: resubmitted shard ran as --shard 2/4 (K passed explicitly, not the array size)"
else fail "c: resubmitted shard did not run as 2/4"; fi
if [ -f "$OUT/merged/summary.json" ] && python3 "$HERE/compare-best-of-n.py" "$WORK/direct" "$OUT/merged"; then
  pass "c: run completed by the resubmission equals the unsharded run"
else
  fail "c: run completed by the resubmission differs from the unsharded run (or is missing)"
fi

# --- (d) scaling sweep + dependent fit -------------------------------------------------------
# scaling-fit needs at least five runs: five 1-layer models of a few thousand parameters on
# 12k-150k tokens, each trains in well under a second.
info "(d) scaling sweep"
SC=$WORK/scaling
mkdir -p "$SC"
cat > "$WORK/grid.csv" <<'EOF'
budget,dim,layers,heads,parameters
1e9,16,1,2,3376
1e9,24,1,2,6984
1e9,32,1,2,13408
3e9,16,1,2,3376
3e9,32,1,2,13408
EOF
ids=$("$HERE/submit-scaling.sh" --grid "$WORK/grid.csv" --out "$SC" --resamples 20 --time 10)
arr=$(submitted array_job "$ids"); fit=$(submitted fit_job "$ids")
if wait_jobs "d" "$arr" "$fit" && all_completed "$arr" && all_completed "$fit"; then
  pass "d: 5 training runs (job $arr) and the fit (job $fit) completed"
else
  show_logs "$SC/slurm-logs"; fail "d: training or fit jobs did not complete"
fi
header=$(head -1 "$SC/runs.csv" 2>/dev/null || true)
if [ "$header" = "name,budget,dim,layers,heads,parameters,total_parameters,tokens,flops,held_out_loss,train_loss,seconds" ] \
   && [ "$(tail -n +2 "$SC/runs.csv" | wc -l)" -eq 5 ] \
   && [ -s "$SC/fit/fit.json" ] && [ -s "$SC/fit/isoflop.svg" ] && [ -s "$SC/fit/fit.svg" ] \
   && [ -s "$SC/fit/optimal.svg" ] && grep -q '^runs 5' "$SC/fit/summary.txt"; then
  pass "d: runs.csv has the 5 runs in run.sh's format; fit/ has fit.json, isoflop.svg, fit.svg, optimal.svg"
else
  show_logs "$SC/slurm-logs"; fail "d: runs.csv or the fit outputs are missing or wrong"
fi
# --- (e) the exchange-rate experiment's stages as dependent arrays ----------------------------
# experiments/exchange-rate/slurm.sh at toy size: one 8-wide size, 2 token budgets × 2 seeds, 8
# problems × 8 samples; six stages, each an array that starts when the one before succeeded.
info "(e) exchange-rate stages"
XR=$WORK/exchange-rate
mkdir -p "$XR"
printf 'size,dim,layers,heads\nt8,8,1,2\n' > "$WORK/xr-sizes.csv"
ids=$(EXCHANGE_OUT=$XR EXCHANGE_DATA=$XR/data SIZES=$WORK/xr-sizes.csv SEEDS="1 2" TOKENS="2048 4096" LRS="0.003 0.01" \
      LR_TOKENS=2048 PROBLEMS=8 N=8 TEMPERATURES=1 VERIFIER_SIZE=t8 VERIFIER_TOKENS=2048 LLAMACL=$LLAMACL \
      bash "$ROOT/experiments/exchange-rate/slurm.sh" --time 10)
jobs=$(sed -n 's/^[a-z]* job=\([0-9]*\).*/\1/p' <<< "$ids" | tr '\n' ' ')
ok=1
# shellcheck disable=SC2086
wait_jobs "e" $jobs || ok=0
for j in $jobs; do all_completed "$j" || ok=0; done
if [ $ok -eq 1 ] && [ "$(wc -w <<< "$jobs")" -eq 6 ] && [ -s "$XR/results/report.json" ] && grep -q "== T=1 verifier" "$XR/results/summary.txt" \
   && [ "$(ls "$XR/runs/train" | grep -c '\.json$')" -eq 4 ]; then
  pass "e: exchange-rate lr, train (4 runs), verifier, sample, score and report ran as 6 dependent arrays"
else
  show_logs "$XR/slurm-logs"; fail "e: the exchange-rate stages did not all complete (${ids//$'\n'/, })"
fi
reached_end=1
