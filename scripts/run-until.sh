#!/usr/bin/env bash
# Runs a collector until its log shows a line, then stops it with SIGTERM
# (so exporters drain and sessions are closed) and exits with its status.
# usage: run-until.sh "Seed finished" bin/otelcol-recordreplay --config configs/seed.yaml
set -uo pipefail
pattern=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" > >(tee -a "$log") 2> >(tee -a "$log" >&2) &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; rm -f "$log"; exit 130' INT TERM
while kill -0 "$pid" 2>/dev/null; do
	if grep -q -- "$pattern" "$log"; then
		kill -TERM "$pid"
		break
	fi
	sleep 0.2
done
wait "$pid"
