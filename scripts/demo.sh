#!/usr/bin/env bash
# The main job on the built-in default, no download: best-of-N on the built-in model
# (models/arithmetic.gguf, a 0.8M-parameter LLaMA-architecture model that LlamaCL trained on
# 3-digit addition; models/README.md has the exact training command).
# It shows greedy answers, then samples N answers per held-out problem and reports how
# accuracy grows with N (pass@k and the selection rules), then checks the OpenCL backend
# against the CPU reference when an OpenCL device is present.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build -c release --product llamacl
bin=.build/release/llamacl
model=models/arithmetic.gguf
$bin info -m "$model" | head -4
echo "--- greedy answers"
for q in "123+456" "907+318" "555+445"; do
  printf 'Q: %s=?\nA:' "$q" > .build/demo-prompt.txt
  printf '%s = %s\n' "$q" "$($bin generate -m "$model" -p "$(cat .build/demo-prompt.txt)" -n 8 --temp 0 --stop $'\n' 2>/dev/null | head -1)"
done
echo "--- best-of-N: 100 held-out problems, 16 samples each (temperature 1)"
rm -rf .build/demo-best-of-n
$bin best-of-n -m "$model" --task arithmetic --digits 3 --operations "+" --problems 100 --n 16 --k 1,2,4,8,16 \
  --max-tokens 8 --temp 1.0 --seed 7 --out .build/demo-best-of-n
echo "(samples, summary.json and plots in .build/demo-best-of-n)"
if clinfo -l >/dev/null 2>&1; then
  echo "--- verify: OpenCL against the CPU reference"
  $bin verify -m "$model" | tail -1
fi
