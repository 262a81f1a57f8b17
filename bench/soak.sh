#!/usr/bin/env bash
# Longer variants of the fault tests (the suite runs short ones). Bounded; prints figures.
#   bench/soak.sh            60 s outage run at 3000 hits/s, then 500k fuzz cases per content type
set -euo pipefail
cd "$(dirname "$0")/.."
FAULT_SECONDS=${FAULT_SECONDS:-60} FAULT_RATE=${FAULT_RATE:-3000} \
  npx vitest run --project faults --testTimeout=600000 test/faults/redis-outage.test.ts test/faults/shutdown.test.ts
FUZZ_RUNS=${FUZZ_RUNS:-500000} npx vitest run --project faults --testTimeout=1800000 test/faults/fuzz.test.ts
