#!/bin/bash
# Submits a sharded best-of-N run to Slurm: an array of K shard jobs, then a merge job that runs
# only when every element of that array succeeded (--dependency=afterok).
#
# Usage: scripts/slurm/submit-best-of-n.sh --model M.gguf --out DIR --shards K
#          [--indices 0,2] [--partition P] [--account A] [--cpus-per-task C] [--time T]
#          [--merge-time T] [--max-parallel N] [--llamacl BIN] [--sbatch-arg ARG]...
#          [--dry-run] [--force] -- BEST_OF_N_ARGS...
#
#   --out DIR       shared folder the compute nodes see: shards go to DIR/shards/I, the merged
#                   run to DIR/merged, Slurm logs to DIR/logs, job ids to DIR/slurm/jobs.txt.
#   --shards K      number of shards (problem id % K == I). Passed to every job explicitly.
#   --indices LIST  submit only these indices (e.g. 2 or 0,2 or 4-7), for re-running shards that
#                   failed; without it all of 0..K-1. Finished shards are resumed, so
#                   re-running one that completed is cheap.
#   --cpus-per-task C  CPUs (and llamacl --threads) per shard (default 1).
#   --max-parallel N   at most N shards at a time (--array=...%N).
#   --llamacl BIN   the llamacl binary (default $LLAMACL, else <repo>/.build/release/llamacl).
#   --sbatch-arg A  extra sbatch option for every job (repeatable), e.g. --sbatch-arg=--mem=8G.
#   --dry-run       print the sbatch commands instead of submitting.
#   BEST_OF_N_ARGS  task and sampling flags of `llamacl best-of-n` (not -m/--out/--shard), e.g.
#                   --task arithmetic --digits 3 --operations + --problems 500 --n 16
#                   --k 1,2,4,8,16 --max-tokens 8 --temp 1.0 --seed 7 --batch 16
#
# Prints "array_job=ID" and "merge_job=ID" on standard output.
set -euo pipefail
source "$(dirname "$0")/common.sh"

model="" out="" shards="" indices="" merge_time=""
while [ $# -gt 0 ]; do
  parse_common "$@"
  if [ "$consumed" -gt 0 ]; then shift "$consumed"; continue; fi
  case "$1" in
    --model|-m) model=${2:?--model needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --shards) shards=${2:?--shards needs a value}; shift 2 ;;
    --indices) indices=${2:?--indices needs a value}; shift 2 ;;
    --merge-time) merge_time=${2:?--merge-time needs a value}; shift 2 ;;
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (best-of-n arguments go after --)" ;;
  esac
done
bon_args=("$@")

[ -n "$model" ] || die "--model is required"
[ -n "$out" ] || die "--out is required"
[ -n "$shards" ] || die "--shards is required"
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || die "--shards must be a positive integer, got '$shards'"
common_checks
model=$(abspath "$model"); out=$(abspath "$out")
[ -f "$model" ] || die "model '$model' not found"
for a in "${bon_args[@]}"; do
  case "$a" in
    -m|--model|--model=*|--out|--out=*|--shard|--shard=*)
      die "'$a' is set by this script; give --model/--out/--shards before --" ;;
  esac
done
if [ -n "$indices" ]; then array=$(parse_indices "$indices" "$shards"); else array="0-$((shards - 1))"; fi
[ -z "$max_parallel" ] || array="$array%$max_parallel"

desc=$(printf 'model=%q\nshards=%q\nargs=' "$model" "$shards"; printf ' %q' "${bon_args[@]}")
[ $dry_run -eq 1 ] || mkdir -p "$out/logs" "$out/slurm"
check_same_run "$out" best-of-n "$desc"

common_sbatch_opts
deps=$(earlier_arrays "$out" "$array")

array_job=$(run_sbatch ARRAY "${sbatch_opts[@]}" --array="$array" --cpus-per-task="$cpus" \
  --job-name=bon-shard --chdir="$out" --output="$out/logs/bon-shard-%A_%a.out" \
  "$SLURM_SCRIPTS_DIR/best-of-n-shard.sbatch" \
  --llamacl "$llamacl" --model "$model" --out "$out" --shards "$shards" -- "${bon_args[@]}")

merge_opts=("${sbatch_opts[@]}")
[ -z "$merge_time" ] || merge_opts+=(--time "$merge_time")
merge_job=$(run_sbatch MERGE "${merge_opts[@]}" --dependency="afterok:$array_job$deps" \
  --kill-on-invalid-dep=yes --cpus-per-task=1 \
  --job-name=bon-merge --chdir="$out" --output="$out/logs/bon-merge-%j.out" \
  "$SLURM_SCRIPTS_DIR/best-of-n-merge.sbatch" \
  --llamacl "$llamacl" --out "$out" --shards "$shards")

[ $dry_run -eq 1 ] || echo "$(date -u +%FT%TZ) array=$array_job indices=$array merge=$merge_job" >> "$out/slurm/jobs.txt"
note "shards $array of $shards: job $array_job; merge: job $merge_job (after all succeed) -> $out/merged"
echo "array_job=$array_job"
echo "merge_job=$merge_job"
