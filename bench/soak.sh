#!/usr/bin/env bash
# Longer variants of the fault scenarios and of the fuzz (the suite runs short ones).
# Bounded; the outage prints its figures (bench/faults.ts), the fuzz its verdict.
#   bench/soak.sh            60 s Redis outage at 3000 hits/s, then 500k fuzz cases per content type
set -euo pipefail
cd "$(dirname "$0")/.."
FAULT_SECONDS=${FAULT_SECONDS:-60} FAULT_RATE=${FAULT_RATE:-3000} npx tsx bench/faults.ts --only kill,freeze,sigterm
FUZZ_RUNS=${FUZZ_RUNS:-500000} npx vitest run --project suite --testTimeout=1800000 test/routes/collect.fuzz-text.test.ts test/routes/collect.fuzz-json.test.ts
