#!/usr/bin/env bash
# Builds a folder that runs the whole GPU check on a GPU machine without a Swift toolchain or
# network (scripts/gpu-check.sh, copied in, runs it):
#   llamacl.gz          release build, Swift runtime and Foundation linked statically, gzipped
#                       (~60 MB → ~23 MB; gpu-check.sh unpacks it)
#   libclblast.so.1     CLBlast (GEMM)
#   libOpenCL.so.1      the ocl-icd loader (the GPU driver provides its own ICD library)
#   llama-cpp-src.tar.gz  llama.cpp as vendored by the llama-cpp-python 0.3.36 sdist, for building
#                       llama-bench with CUDA there (the reference for the speed comparison)
#   llama-cpp-src.txt   where that came from: the sdist's name and sha256, and what was left out
#   gpu-check.sh        the check to run there
#   models/             small fixture models for verify, when they fit the size budget
# The sdist is 77 MB, more than the 64 MiB a device run may carry with the working tree, so only
# vendor/llama.cpp is kept, without models/ (test vocabularies), docs/ and benches/: nothing
# llama-bench's build reads (~12 MB gzipped).
# The binary still needs glibc and libstdc++ (for CLBlast) of at least this machine's versions.
#
# Usage: scripts/gpu-bundle.sh [OUT_DIR]     (default: carry/gpu-bundle, git-ignored)
# Env:   LLAMA_CPP_SDIST=PATH   use this llama_cpp_python-0.3.36.tar.gz instead of downloading it
#        BUNDLE_LIMIT_MB=N      the bundle's size budget (default 42: the device run's 64 MiB less
#                               the working tree); fixture models are added only while it holds
#        SKIP_SWIFT_BUILD=1     reuse .build/release/llamacl as it is (tests of this script)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-carry/gpu-bundle}"
limit_mb="${BUNDLE_LIMIT_MB:-42}"
sdist_name="llama_cpp_python-0.3.36.tar.gz"

if [ "${SKIP_SWIFT_BUILD:-0}" != 1 ]; then
  swift build -c release --static-swift-stdlib --product llamacl
fi
[ -x .build/release/llamacl ] || { echo "error: no .build/release/llamacl" >&2; exit 1; }
mkdir -p "$out/models"
rm -f "$out/llamacl" "$out"/models/*.gguf
gzip -9 -c .build/release/llamacl > "$out/llamacl.gz"
for lib in libclblast.so.1 libOpenCL.so.1; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
  [ -n "$path" ] || { echo "error: $lib not found (scripts/setup.sh installs it)" >&2; exit 1; }
  cp -L "$path" "$out/$lib"
done
cp scripts/gpu-check.sh "$out/"

# --- llama.cpp from the llama-cpp-python 0.3.36 sdist (cached beside the build) -------------
if [ ! -s "$out/llama-cpp-src.tar.gz" ] || [ ! -s "$out/llama-cpp-src.txt" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  sdist="${LLAMA_CPP_SDIST:-}"
  if [ -z "$sdist" ]; then
    mkdir -p .build/sdist
    sdist=".build/sdist/$sdist_name"
    if [ ! -s "$sdist" ]; then
      # The sdist itself, never a wheel. `--no-binary :all:` also builds pip's build backend from
      # source to read the metadata (minutes); restricting it to the one package gives the same file.
      pip download llama-cpp-python==0.3.36 --no-deps --no-binary llama-cpp-python -d .build/sdist >&2
    fi
  fi
  [ -s "$sdist" ] || { echo "error: $sdist_name not found" >&2; exit 1; }
  sha=$(sha256sum "$sdist" | cut -d' ' -f1)
  tar xzf "$sdist" -C "$work"
  root="$work/llama_cpp_python-0.3.36/vendor/llama.cpp"
  [ -f "$root/tools/llama-bench/llama-bench.cpp" ] || { echo "error: $sdist has no vendor/llama.cpp/tools/llama-bench" >&2; exit 1; }
  rm -rf "$root/models" "$root/docs" "$root/benches"
  tar czf "$out/llama-cpp-src.tar.gz" -C "$work/llama_cpp_python-0.3.36/vendor" llama.cpp
  {
    echo "source: $sdist_name (PyPI, pip download llama-cpp-python==0.3.36 --no-deps --no-binary)"
    echo "sha256: $sha"
    echo "kept: vendor/llama.cpp, as llama.cpp/ (without models/, docs/, benches/)"
  } > "$out/llama-cpp-src.txt"
fi

# --- fixture models, while the size budget holds ------------------------------------------
size_mb() { du -sm "$out" | cut -f1; }
fixtures="${LLAMACL_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
for m in tiny-spm-q4_0 tiny-spm-q8_0; do
  f="$fixtures/models/$m.gguf"
  [ -f "$f" ] || continue
  if [ $(( $(size_mb) + $(du -sm "$f" | cut -f1) )) -le "$limit_mb" ]; then cp "$f" "$out/models/"; else echo "note: $m left out (bundle budget ${limit_mb} MB)" >&2; fi
done
du -sh "$out"/* >&2
total=$(size_mb)
if [ "$total" -gt "$limit_mb" ]; then
  echo "error: the bundle is ${total} MB, over its ${limit_mb} MB budget" >&2
  exit 1
fi
echo "bundle ready: $out (${total} MB; run: $out/gpu-check.sh OUT_DIR)" >&2
