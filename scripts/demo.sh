#!/usr/bin/env bash
# The main job on a built-in default, no download: writes a small model (stories15M shape,
# RANDOM WEIGHTS with a built-in byte-level vocabulary — not a trained model, so the text is
# gibberish), shows it, generates from it on the CPU and on OpenCL, checks OpenCL against the
# CPU reference, and benchmarks it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build -c release --product llamacl
bin=.build/release/llamacl
model=.build/demo-stories15M-q8_0.gguf
[ -f "$model" ] || $bin synth --shape stories15M --type Q8_0 --out "$model"
$bin info -m "$model"
echo "--- generate (CPU), random weights: the text is meaningless, the speed is real"
$bin generate -m "$model" -p "Once upon a time" -n 48 --seed 1
if $bin --help | grep -q verify && clinfo -l >/dev/null 2>&1; then
  echo "--- generate (OpenCL)"
  $bin generate -m "$model" -p "Once upon a time" -n 48 --seed 1 --backend opencl
  echo "--- verify: OpenCL against the CPU reference"
  $bin verify -m "$model"
fi
echo "--- bench"
$bin bench -m "$model" -p 128 -n 32 -r 2
