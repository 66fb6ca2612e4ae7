#!/usr/bin/env bash
# make soak: the testbed's scenario 5 against the built distribution:
# 10 minutes of capture at 5k spans/s with the session rotated every minute;
# RSS at the end within 10 % of RSS after the first minute, every rotated
# session completed, counted, and holding exactly what was sent.
# scripts/testbed.sh does the work (build if needed, results in
# testbed/tests/results/, this run's log in soak.log).
set -euo pipefail
TESTBED_SOAK=1 TESTBED_RUN='^TestSoak$' TESTBED_LOG=soak.log exec "$(dirname "$0")/testbed.sh" "$@"
