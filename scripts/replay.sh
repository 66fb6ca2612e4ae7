#!/usr/bin/env bash
# Runs a replay collector (make replay and friends): its log as it goes,
# then, once the collector has exited (shutdown_when_done stops it when the
# replay is over), the replay's summary as the last lines, and its exit status.
# usage: replay.sh bin/otelcol-recordreplay --config configs/replay.yaml
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Ctrl-C reaches the collector (same process group), which stops cleanly.
trap '' INT
"$@" 2>&1 | tee -i "$log" # tee -i: Ctrl-C must not break the collector's output pipe
status=${PIPESTATUS[0]}
trap - INT
scripts/replay-summary.sh "$log"
exit "$status"
