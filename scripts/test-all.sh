#!/usr/bin/env bash
# The README's test command: installs from the lockfile, builds, lints, then runs every test on
# Node 20 (this machine's node) and again on Node 24 and Node 26 (from the npm registry), plus the
# OTel 3.x compatibility suite on Node 24. Ends with the plain line "N passed, M failed"; exits non-zero on
# any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

PNPM=(npx -y pnpm@10)
NODE24=(npx -y node@24)
NODE26=(npx -y node@26)
results=.test-results
rm -rf "$results" && mkdir -p "$results"
failures=0
step() { echo; echo "== $*"; }

step "install (frozen lockfile)"
"${PNPM[@]}" install --frozen-lockfile || failures=$((failures + 1))
step "build"
"${PNPM[@]}" run build || failures=$((failures + 1))
step "lint"
"${PNPM[@]}" run lint || failures=$((failures + 1))
step "type tests and README code blocks"
"${PNPM[@]}" run test:types || failures=$((failures + 1))
"${PNPM[@]}" run check:readme || failures=$((failures + 1))

step "browser for the viewer's page test"
bash scripts/ensure-chromium.sh

step "tests on Node $(node --version)"
node node_modules/jest/bin/jest.js --ci --json --outputFile="$results/node20.json" || true
step "tests on Node 24"
"${NODE24[@]}" node_modules/jest/bin/jest.js --ci --json --outputFile="$results/node24.json" || true
step "tests on Node 26"
"${NODE26[@]}" node_modules/jest/bin/jest.js --ci --json --outputFile="$results/node26.json" || true
if [ -f test/otel3/run.sh ]; then
  step "OTel 3.x compatibility suite on Node 24"
  bash test/otel3/run.sh "$results/otel3.json" || true
fi

node scripts/summarize-tests.mjs "$results" "$failures"
