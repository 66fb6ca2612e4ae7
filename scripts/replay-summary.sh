#!/usr/bin/env bash
# Prints the summary of a replay from a collector log: the fields of its
# "Replay finished" line, readably, and what its exporter dropped: items the
# target refused (a permanent error, e.g. Unauthenticated, 401, 400) or that
# failed past the exporter's retries. Exit status 1 when the exporter
# dropped anything, else 0. usage: replay-summary.sh LOGFILE
set -uo pipefail
# The exporter's queue consumers log each request they give up on:
#   ... Exporting failed. Dropping data. {"otelcol.component.id": "otlp_grpc", ..., "error": "...", "dropped_items": 10}
refused() {
	local dropped first
	dropped=$(grep 'Exporting failed. Dropping data.' "$1" | sed -nE 's/.*"dropped_items": ([0-9]+).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
	[[ $dropped == 0 ]] && return 0
	first=$(grep -m1 'Exporting failed. Dropping data.' "$1" | sed -nE 's/.*"error": "(([^"\\]|\\.)*)".*/\1/p')
	echo "replay: FAILED: the exporter dropped $dropped items the target did not take (first error: ${first:-see the log above})"
	return 1
}
line=$(grep 'Replay finished' "$1" | tail -1)
if [[ -z $line ]]; then
	echo "replay: no summary (the replay did not finish; see the log above)"
	refused "$1"
	exit
fi
field() { sed -nE 's/.*"'"$1"'": "?([^",}]*)"?.*/\1/p' <<<"$line"; }
secs() { awk -v s="$(field "$1")" 'BEGIN { if (s == "") print "-"; else if (s < 1) printf "%.2fms", s * 1000; else printf "%.2fs", s }'; }
case $(field ended_by) in
max_duration) early=" (cut at its max_duration)" ;;
stopped) early=" (stopped early)" ;;
nothing_to_replay) early=" (nothing to replay)" ;;
error) early=" (broken off by an error: see the log)" ;;
*) early= ;;
esac
echo "replay: session $(field session): $(field passes) pass(es), $(field objects) objects in $(secs elapsed)$early"
echo "replay: $(field spans) spans, $(field data_points) data points, $(field log_records) log records; dropped $(field dropped_items), bad objects $(field bad_objects), duplicates $(field duplicate_objects)"
echo "replay: lateness p50 $(secs lateness_p50), p99 $(secs lateness_p99), max $(secs lateness_max)"
refused "$1"
