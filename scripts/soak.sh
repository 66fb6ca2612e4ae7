#!/usr/bin/env bash
# make soak: the testbed's scenario 5 against the built distribution:
# 10 minutes of capture at 5k spans/s with the session rotated every minute;
# RSS at the end within 10 % of RSS after the first minute, every rotated
# session completed, counted, and holding exactly what was sent.
# Results as for scripts/testbed.sh (testbed/tests/results/).
set -euo pipefail
if [ -n "${OTELCOL_BIN:-}" ]; then OTELCOL_BIN=$(realpath "$OTELCOL_BIN"); fi
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${OTELCOL_BIN:-$ROOT/bin/otelcol-recordreplay}

needs_build() {
	[ "${TESTBED_BUILD:-}" = 1 ] && return 0
	[ -n "${OTELCOL_BIN:-}" ] && return 1 # a binary of the caller's: test that one as it is
	[ -x "$BIN" ] || return 0
	[ -n "$(find . \( -path ./testbed -o -path "./build*" -o -path ./bin -o -path ./.git \) -prune -o \
		\( -name '*.go' -o -name go.mod -o -name go.sum -o -name builder-config.yaml -o -path './internal/*.yaml' \) \
		-newer "$BIN" -print -quit)" ]
}
if needs_build; then make build; fi

cd testbed
mkdir -p tests/results
set +e
RUN_TESTBED=1 TESTBED_SOAK=1 OTELCOL_BIN="$BIN" \
	go test -count=1 -v -timeout "${TESTBED_TIMEOUT:-30m}" -run '^TestSoak$' "$@" ./tests/ 2>&1 | tee tests/results/soak.log
rc=${PIPESTATUS[0]}
set -e
echo
cat tests/results/TESTRESULTS.md 2>/dev/null || true
echo
awk '/^# Scenario figures/ {buf = ""} {buf = buf $0 "\n"} END {printf "%s", buf}' tests/results/SCENARIOS.md 2>/dev/null || true
exit "$rc"
