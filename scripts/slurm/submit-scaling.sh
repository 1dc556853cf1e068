#!/bin/bash
# Submits a scaling sweep to Slurm: an array with one training run per grid row, then the fit
# (rebuilt runs.csv, `llamacl scaling-fit`, the plateau sensitivity fit) once every run
# succeeded (--dependency=afterok).
#
# Usage: scripts/slurm/submit-scaling.sh --grid GRID.csv --out DIR
#          [--rows 0,3] [--ckpt DIR] [--resamples R] [--partition P] [--account A]
#          [--cpus-per-task C] [--time T] [--fit-time T] [--max-parallel N] [--llamacl BIN]
#          [--sbatch-arg ARG]... [--dry-run] [--force]
#
#   --grid GRID.csv  columns budget,dim,layers,heads,parameters (experiments/scaling/grid.csv);
#                    copied to DIR/grid.csv, which the jobs read.
#   --out DIR        shared folder: DIR/results/NAME.json, DIR/logs/NAME.jsonl (training logs),
#                    DIR/runs.csv, DIR/fit, DIR/fit-plateau, Slurm logs in DIR/slurm-logs.
#   --rows LIST      submit only these data rows (0-based, e.g. 3 or 0,3 or 4-7), for re-running
#                    failed runs; without it every row (rows with results are skipped fast).
#   --ckpt DIR       checkpoints (default DIR/ckpt).
#   --resamples R    bootstrap resamples of the fit (default 1000, as run.sh's final fit).
#   --cpus-per-task C  CPUs (and --threads) per training run (default 1, as run.sh).
#   --no-plateau     skip the plateau-only sensitivity fit.
#
# Prints "array_job=ID" and "fit_job=ID" on standard output.
set -euo pipefail
source "$(dirname "$0")/common.sh"

grid="" out="" rows="" ckpt="" resamples=1000 fit_time="" fit_flags=()
while [ $# -gt 0 ]; do
  parse_common "$@"
  if [ "$consumed" -gt 0 ]; then shift "$consumed"; continue; fi
  case "$1" in
    --grid) grid=${2:?--grid needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --rows) rows=${2:?--rows needs a value}; shift 2 ;;
    --ckpt) ckpt=${2:?--ckpt needs a value}; shift 2 ;;
    --resamples) resamples=${2:?--resamples needs a value}; shift 2 ;;
    --fit-time) fit_time=${2:?--fit-time needs a value}; shift 2 ;;
    --no-plateau) fit_flags+=(--no-plateau); shift ;;
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'" ;;
  esac
done
[ -n "$grid" ] || die "--grid is required"
[ -n "$out" ] || die "--out is required"
[[ "$resamples" =~ ^[0-9]+$ ]] || die "--resamples must be an integer"
common_checks
grid=$(abspath "$grid"); out=$(abspath "$out")
[ -f "$grid" ] || die "grid '$grid' not found"
[ "$(head -1 "$grid" | tr -d '\r')" = "budget,dim,layers,heads,parameters" ] \
  || die "$grid: expected the header budget,dim,layers,heads,parameters"
count=$(tail -n +2 "$grid" | grep -c . || true)
[ "$count" -ge 1 ] || die "$grid has no rows"
ckpt=$(abspath "${ckpt:-$out/ckpt}")
if [ -n "$rows" ]; then array=$(parse_indices "$rows" "$count"); else array="0-$((count - 1))"; fi
[ -z "$max_parallel" ] || array="$array%$max_parallel"

if [ $dry_run -eq 0 ]; then
  mkdir -p "$out/slurm-logs" "$out/slurm"
  check_same_run "$out" scaling "$(cat "$grid")"
  [ "$grid" = "$out/grid.csv" ] || cp "$grid" "$out/grid.csv"
fi
common_sbatch_opts
deps=$(earlier_arrays "$out" "$array")

array_job=$(run_sbatch ARRAY "${sbatch_opts[@]}" --array="$array" --cpus-per-task="$cpus" \
  --job-name=scaling-train --chdir="$out" --output="$out/slurm-logs/train-%A_%a.out" \
  "$SLURM_SCRIPTS_DIR/train-run.sbatch" \
  --llamacl "$llamacl" --grid "$out/grid.csv" --out "$out" --ckpt "$ckpt")

fit_opts=("${sbatch_opts[@]}")
[ -z "$fit_time" ] || fit_opts+=(--time "$fit_time")
fit_job=$(run_sbatch FIT "${fit_opts[@]}" --dependency="afterok:$array_job$deps" \
  --kill-on-invalid-dep=yes --cpus-per-task=1 \
  --job-name=scaling-fit --chdir="$out" --output="$out/slurm-logs/fit-%j.out" \
  "$SLURM_SCRIPTS_DIR/scaling-fit.sbatch" \
  --llamacl "$llamacl" --grid "$out/grid.csv" --out "$out" --scripts "$SLURM_SCRIPTS_DIR" \
  --resamples "$resamples" "${fit_flags[@]}")

[ $dry_run -eq 1 ] || echo "$(date -u +%FT%TZ) array=$array_job rows=$array fit=$fit_job" >> "$out/slurm/jobs.txt"
note "grid rows $array of $count: job $array_job; fit: job $fit_job (after all succeed) -> $out/fit"
echo "array_job=$array_job"
echo "fit_job=$fit_job"
