#!/usr/bin/env bash
# make testbed: the collector testbed's load scenarios 1-4 and 6 against the built
# distribution (testbed/, its own Go module on contrib's testbed framework):
#   1. TestCapture          OTLP -> session_capture (filesystem), 10k spans/s,
#                           10k data points/s, 10k log records/s, 60 s each;
#                           the stored session decodes to what was sent
#   2. TestReplay           that session -> session_replay at 1x and speed 0
#                           -> OTLP -> mock backend; golden dataset through
#                           capture and replay, correctness validator
#   3. TestSeed             seed_gen, clock fast -> OTLP -> mock backend
#   4. TestCaptureS3Outage  capture into versitygw, stopped for 20 s midway
#   6. TestTapOverhead      configs/tap.yaml forwarding 10k spans/s without
#                           the capture, with it, and with its store down;
#                           CPU per span, rate, latency, ratios (~4 min)
# Results: testbed/tests/results/TESTRESULTS.md (the testbed's table),
# testbed/tests/results/SCENARIOS.md (rates, CPU-seconds, RSS points), and
# each test's agent.log under testbed/tests/results/<test>/.
# Builds bin/otelcol-recordreplay first if it is missing or older than the
# sources (TESTBED_BUILD=1 forces a build; OTELCOL_BIN=path tests that binary
# as it is); installs versitygw if missing, and builds bin/devtools (scenario 4
# runs versitygw through `devtools s3`).
# Extra `go test` arguments pass through, e.g. scripts/testbed.sh -run TestSeed;
# TESTBED_RUN and TESTBED_LOG choose other scenarios (scripts/soak.sh does).
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
[ -x "$ROOT/bin/versitygw" ] || make tools
make --no-print-directory devtools

RUN=${TESTBED_RUN:-'^(TestCapture|TestReplay|TestSeed|TestCaptureS3Outage|TestTapOverhead)$'}
LOG=${TESTBED_LOG:-testbed.log}
cd testbed
mkdir -p tests/results
set +e
RUN_TESTBED=1 OTELCOL_BIN="$BIN" VERSITYGW="$ROOT/bin/versitygw" DEVTOOLS="$ROOT/bin/devtools" \
	go test -count=1 -v -timeout "${TESTBED_TIMEOUT:-30m}" -run "$RUN" "$@" ./tests/ 2>&1 | tee "tests/results/$LOG"
rc=${PIPESTATUS[0]}
set -e
echo
cat tests/results/TESTRESULTS.md 2>/dev/null || true
echo
# this run's section of SCENARIOS.md (it keeps earlier runs' too)
awk '/^# Scenario figures/ {buf = ""} {buf = buf $0 "\n"} END {printf "%s", buf}' tests/results/SCENARIOS.md 2>/dev/null || true
exit "$rc"
