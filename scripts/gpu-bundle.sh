#!/usr/bin/env bash
# Builds a folder that runs `llamacl` on a GPU machine without a Swift toolchain:
#   llamacl.gz         release build, Swift runtime and Foundation linked statically, gzipped
#                      (~60 MB → ~23 MB, so the folder stays well under 64 MiB; gpu-check.sh unpacks it)
#   libclblast.so.1    CLBlast (GEMM)
#   libOpenCL.so.1     the ocl-icd loader (the GPU driver provides its own ICD library)
#   gpu-check.sh       the check to run there (verify + bench)
#   models/            small fixture models for verify, when present
# The binary still needs glibc and libstdc++ (for CLBlast) of at least this machine's versions.
# Usage: scripts/gpu-bundle.sh [OUT_DIR]   (default: gpu-bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-bundle}"
swift build -c release --static-swift-stdlib --product llamacl
mkdir -p "$out/models"
rm -f "$out/llamacl"
gzip -9 -c .build/release/llamacl > "$out/llamacl.gz"
for lib in libclblast.so.1 libOpenCL.so.1; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
  [ -n "$path" ] || { echo "error: $lib not found (scripts/setup.sh installs it)" >&2; exit 1; }
  cp -L "$path" "$out/$lib"
done
cp scripts/gpu-check.sh "$out/"
fixtures="${LLAMACL_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
for m in tiny-spm-q4_0 tiny-spm-q8_0; do
  [ -f "$fixtures/models/$m.gguf" ] && cp "$fixtures/models/$m.gguf" "$out/models/"
done
du -sh "$out"/* >&2
echo "bundle ready: $out (run: $out/gpu-check.sh)" >&2
