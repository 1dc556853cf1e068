#!/usr/bin/env bash
# Installs dependencies, then runs every test. Fixtures are read from $LLAMACL_FIXTURES
# (default ../shared/fixtures); tests that need them are skipped by name when absent (failed in CI).
# With no arguments it also runs the Slurm test: a real single-node Slurm (slurm-wlm and munge,
# installed by scripts/slurm/cluster.sh; needs root or sudo) running a sharded best-of-N and a
# scaling sweep with the release binary. Arguments are passed to `swift test` (e.g. --filter X)
# and skip the Slurm test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export LLAMACL_FIXTURES="${LLAMACL_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
swift build --build-tests
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
  # `llamacl serve` end to end, through the official openai client (installed if missing); uses
  # the debug binary built above and stops the servers it starts.
  python3 -c "import openai" 2>/dev/null || python3 -m pip install --quiet openai
  python3 -m unittest discover -s Tests/serving -v
  swift build -c release --product llamacl
  LLAMACL="$PWD/.build/release/llamacl" bash scripts/slurm/test-slurm.sh
fi
