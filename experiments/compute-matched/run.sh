#!/bin/bash
# Compute-matched best-of-N: three models trained with the SAME training compute (the 1e13-FLOP
# IsoFLOP profile of experiments/scaling) sample N = 16 answers to the same 200 held-out
# arithmetic problems; pass@k and majority-vote accuracy against inference FLOPs per problem.
# Resumable (best-of-n resumes a run directory). Models: models/*.gguf here (copied from the
# sweep's checkpoints, each < 4 MB), else $SCALING_CKPT (default /work/scaling-ckpt).
set -euo pipefail
cd "$(dirname "$0")"
BIN=${LLAMACL:-../../.build/release/llamacl}
CKPT=${SCALING_CKPT:-/work/scaling-ckpt}
THREADS=${LLAMACL_THREADS:-1}
MODELS=${MODELS:-"c1e13_d48l2 c1e13_d64l4 c1e13_d128l4"}
mkdir -p models runs
args=()
for m in $MODELS; do
  [ -f "models/$m.gguf" ] || cp "$CKPT/$m.gguf" "models/$m.gguf"
  # Problems: seed 7, the same 200 for every model, training problems included (see README
  # for the overlap); without --include-training-problems each model would skip its own.
  "$BIN" best-of-n -m "models/$m.gguf" --task arithmetic --digits 3 --operations "+-" --problems 200 --n 16 \
    --k 1,2,4,8,16 --include-training-problems --max-tokens 8 --temp 1.0 --seed 7 --batch 16 --threads "$THREADS" --out "runs/$m" --quiet > "runs/$m.txt"
  args+=(--run "$m=runs/$m")
done
OUT=${OUT:-results}
"$BIN" compute-matched "${args[@]}" --out "$OUT" | tee "$OUT.txt"
