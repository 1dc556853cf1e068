# Shared by submit-best-of-n.sh and submit-scaling.sh (sourced, not run).

SLURM_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SLURM_SCRIPTS_DIR/../.." && pwd)

die() { echo "$(basename "$0"): error: $*" >&2; exit 2; }
note() { echo "$(basename "$0"): $*" >&2; }

abspath() {  # abspath PATH: absolute and normalised, symlinks kept (need not exist)
  realpath -ms -- "$1"
}

# Options common to both submitters; each sets a variable and is consumed by parse_common.
partition="" account="" cpus=1 time_limit="" max_parallel="" dry_run=0 force=0
llamacl=${LLAMACL:-$REPO_ROOT/.build/release/llamacl}
extra_sbatch=()

# parse_common "$@": returns the number of words consumed in $consumed (0 when not common).
parse_common() {
  consumed=0
  case "$1" in
    --partition|-p|--account|-A|--cpus-per-task|-c|--time|-t|--max-parallel|--llamacl|--sbatch-arg)
      [ -n "${2+x}" ] || die "$1 needs a value"; consumed=2 ;;
  esac
  case "$1" in
    --partition|-p) partition=$2 ;;
    --account|-A) account=$2 ;;
    --cpus-per-task|-c) cpus=$2 ;;
    --time|-t) time_limit=$2 ;;
    --max-parallel) max_parallel=$2 ;;
    --llamacl) llamacl=$2 ;;
    --sbatch-arg) extra_sbatch+=("$2") ;;
    --dry-run) dry_run=1; consumed=1 ;;
    --force) force=1; consumed=1 ;;
  esac
}

common_checks() {
  [[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die "--cpus-per-task must be a positive integer, got '$cpus'"
  [ -z "$max_parallel" ] || [[ "$max_parallel" =~ ^[1-9][0-9]*$ ]] || die "--max-parallel must be a positive integer"
  llamacl=$(abspath "$llamacl")
  [ -x "$llamacl" ] || die "llamacl binary '$llamacl' not found: build it (swift build -c release --product llamacl) or pass --llamacl / \$LLAMACL (it must be on a filesystem the compute nodes see)"
  [ $dry_run -eq 1 ] || command -v sbatch >/dev/null 2>&1 || die "sbatch not found (is Slurm set up? for a local test cluster: scripts/slurm/cluster.sh start)"
}

# sbatch options every job gets.
common_sbatch_opts() {
  sbatch_opts=(--parsable)
  [ -z "$partition" ] || sbatch_opts+=(--partition "$partition")
  [ -z "$account" ] || sbatch_opts+=(--account "$account")
  [ -z "$time_limit" ] || sbatch_opts+=(--time "$time_limit")
  sbatch_opts+=("${extra_sbatch[@]}")
}

# parse_indices SPEC COUNT: "0,2,5-7" -> validated, prints the same spec; dies when out of range.
parse_indices() {
  local spec=$1 count=$2 part a b
  [[ "$spec" =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] || die "bad index list '$spec' (use e.g. 2 or 0,2 or 4-7)"
  IFS=, read -r -a parts <<< "$spec"
  for part in "${parts[@]}"; do
    a=${part%-*} b=${part#*-}
    [ "$a" -le "$b" ] || die "bad range '$part'"
    [ "$b" -lt "$count" ] || die "index $b is outside 0..$((count - 1))"
  done
  printf '%s\n' "$spec"
}

# run_sbatch LABEL ARGS...: submits (or prints, with --dry-run) and prints the job id.
run_sbatch() {
  local label=$1; shift
  if [ $dry_run -eq 1 ]; then
    printf 'sbatch' >&2; printf ' %q' "$@" >&2; printf '\n' >&2
    echo "DRYRUN_$label"; return 0
  fi
  local id
  id=$(sbatch "$@") || die "sbatch failed: sbatch $*"
  id=${id%%;*}
  [[ "$id" =~ ^[0-9]+$ ]] || die "sbatch printed '$id', not a job id"
  echo "$id"
}

# expand_indices SPEC: "0,2,5-7%3" -> "0 2 5 6 7"
expand_indices() {
  local spec=${1%%\%*} part
  IFS=, read -r -a parts <<< "$spec"
  for part in "${parts[@]}"; do seq "${part%-*}" "${part#*-}"; done | tr '\n' ' '
}

# earlier_arrays OUT ARRAY_SPEC: looks at the array jobs of earlier submissions into the same
# OUT (OUT/slurm/jobs.txt). Dies when one of them still has a queued or running element with an
# index being submitted now (two jobs would write the same output), unless --force. Prints
# ",afterany:ID" for each earlier array that still has other elements queued or running, so the
# new merge/fit waits for them as well.
earlier_arrays() {
  local jobs=$1/slurm/jobs.txt deps="" id active i
  [ -f "$jobs" ] || return 0
  [ $dry_run -eq 0 ] || return 0
  local wanted
  wanted=" $(expand_indices "$2") "
  for id in $(grep -o 'array=[0-9]*' "$jobs" | cut -d= -f2 | sort -un); do
    active=$(squeue -h -r -j "$id" -o %K 2>/dev/null | tr '\n' ' ' || true)
    [ -n "${active// /}" ] || continue
    for i in $active; do
      if [[ "$wanted" == *" $i "* ]] && [ $force -eq 0 ]; then
        die "index $i of earlier array job $id is still queued or running (squeue -j $id); wait for it or scancel it first (or --force)"
      fi
    done
    deps+=",afterany:$id"
  done
  printf '%s' "$deps"
}

# check_same_run OUT KIND DESCRIPTION: the first submission records what the run is; later ones
# (resubmissions of failed indices) must describe the same run unless --force.
check_same_run() {
  local out=$1 desc=$3 f=$1/slurm/$2.run
  if [ -f "$f" ]; then
    if [ "$(cat "$f")" != "$desc" ]; then
      [ $force -eq 1 ] || die "$out was submitted before with other settings:
--- recorded ($f)
$(cat "$f")
--- now
$desc
Use the same --model/--shards/arguments (or --grid) to resubmit, another --out for a new run, or --force."
      note "--force: settings differ from $f; recording the new ones"
    fi
  fi
  [ $dry_run -eq 1 ] || printf '%s\n' "$desc" > "$f"
}
