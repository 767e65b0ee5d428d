#!/usr/bin/env bash
# The README's demo command: installs from the lockfile, builds, and runs the multi-service demo.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "installing (pnpm, from the lockfile)..."
npx -y pnpm@10 install --frozen-lockfile --reporter=silent
echo "building..."
npx -y pnpm@10 run --silent build
node examples/demo/run.mjs "$@"
