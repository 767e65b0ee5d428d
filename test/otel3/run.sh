#!/usr/bin/env bash
# Runs the OTel 3.x compatibility suite on Node 24 and writes a jest-shaped JSON summary to $1,
# so scripts/summarize-tests.mjs can add it to the closing "N passed, M failed" line.
set -uo pipefail
out=${1:?usage: run.sh RESULT_JSON}
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
cd "$(dirname "$0")"
npx -y pnpm@10 install --frozen-lockfile --ignore-workspace >/dev/null || { echo 'otel3: install failed'; }
tap=$(npx -y node@24 --test --test-reporter=tap ./*.test.mjs 2>&1)
status=$?
echo "$tap" | grep -E '^(not ok|# (pass|fail|tests))' || true
pass=$(echo "$tap" | sed -n 's/^# pass \([0-9]*\)$/\1/p' | tail -1)
fail=$(echo "$tap" | sed -n 's/^# fail \([0-9]*\)$/\1/p' | tail -1)
pass=${pass:-0}
fail=${fail:-0}
# A run that crashed before reporting counts as one failure.
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
total=$((pass + fail))
printf '{"numPassedTests":%d,"numFailedTests":%d,"numTotalTests":%d,"numRuntimeErrorTestSuites":0}\n' "$pass" "$fail" "$total" >"$out"
echo "$tap" | grep -q '^not ok' && echo "$tap" | tail -60
exit 0
