#!/bin/bash
# Submits the exchange-rate experiment to Slurm: one array job per stage of run.sh (one array
# task per unit: a training run, a model's sampling, …), each stage starting when the one before
# it has succeeded (--dependency=afterok). Needs a shared file system for this folder and for
# $EXCHANGE_DATA (and $EXCHANGE_OUT when given); the settings run.sh reads from the environment (SEEDS, TOKENS, N, …) are
# passed on to the jobs. Units already done are skipped, so a resubmission resumes.
#
#   bash slurm.sh [--partition P] [--time T] [--dry-run]
#
# Prints "STAGE job=ID units=COUNT" per stage.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
partition=() time=() dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --partition) partition=(--partition "$2"); shift 2 ;;
    --time) time=(--time "$2"); shift 2 ;;
    --dry-run) dry=1; shift ;;
    *) echo "slurm.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ $dry -eq 1 ] || command -v sbatch >/dev/null || { echo "slurm.sh: sbatch not found (run bash run.sh instead)" >&2; exit 2; }
LOGS=${EXCHANGE_OUT:-$HERE}/slurm-logs
mkdir -p "$LOGS"
previous=""
for stage in lr train verifier sample score report; do
  count=$(bash "$HERE/run.sh" units "$stage" | wc -l)
  dependency=()
  [ -z "$previous" ] || dependency=(--dependency="afterok:$previous")
  # Array task i runs the stage's (i+1)-th unit.
  command="bash '$HERE/run.sh' unit $stage \"\$(bash '$HERE/run.sh' units $stage | sed -n \"\$((SLURM_ARRAY_TASK_ID + 1))p\")\""
  args=(--parsable --job-name "xr-$stage" --array "0-$((count - 1))" --ntasks 1 --cpus-per-task 1
        --output "$LOGS/$stage-%A_%a.out" "${partition[@]}" "${time[@]}" "${dependency[@]}" --wrap "$command")
  if [ $dry -eq 1 ]; then
    echo "sbatch ${args[*]}"
    previous="DRY"
  else
    previous=$(sbatch "${args[@]}")
  fi
  echo "$stage job=$previous units=$count"
done
