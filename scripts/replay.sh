#!/usr/bin/env bash
# Runs a replay collector (make replay and friends): its log as it goes,
# then, once the collector has exited (shutdown_when_done stops it when the
# replay is over), the replay's summary as the last lines, and its exit status:
# the collector's, or 1 when it exited 0 but its exporter dropped data the
# target refused (a replay that did not arrive is not a success).
# REPLAY_HEADERS given as name=value pairs separated by commas
# (authorization=Bearer x,x-scope-orgid=team-a) is handed to the collector as
# the YAML map configs/replay.yaml takes ({'authorization': 'Bearer x', ...});
# a YAML map or list ({...}, [...]) goes as it is.
# usage: replay.sh bin/otelcol-recordreplay --config configs/replay.yaml
set -uo pipefail

# trim prints $1 without leading and trailing white space.
trim() {
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	printf '%s' "${s%"${s##*[![:space:]]}"}"
}

# headers_yaml prints the YAML map of name=value pairs separated by commas,
# each name and value single-quoted (where only ' is special: '' is one).
headers_yaml() {
	local pairs pair name value out= n=0 token='^[-A-Za-z0-9!#$%&*+.^_`|~]+$' # an HTTP header name
	local want="name=value pairs separated by commas, e.g. authorization=Bearer x; a value with a comma: a YAML map, '{name: \"a, b\"}'"
	IFS=, read -r -a pairs <<<"$1"
	for pair in "${pairs[@]}"; do
		[[ -z $(trim "$pair") ]] && continue
		n=$((n + 1))
		name=$(trim "${pair%%=*}")
		value=$(trim "${pair#*=}")
		# (never the value in a message: it may be a secret)
		if [[ $pair != *=* ]]; then
			echo "replay: REPLAY_HEADERS: pair $n has no \"=\" ($want)" >&2
			return 1
		fi
		if [[ ! $name =~ $token ]]; then
			echo "replay: REPLAY_HEADERS: pair $n: \"$name\" is not a header name ($want)" >&2
			return 1
		fi
		out+="${out:+, }'${name//\'/\'\'}': '${value//\'/\'\'}'"
	done
	printf '{%s}' "$out"
}

if [[ -n ${REPLAY_HEADERS:-} && ! $REPLAY_HEADERS =~ ^[[:space:]]*[\{\[] ]]; then
	REPLAY_HEADERS=$(headers_yaml "$REPLAY_HEADERS") || exit 2
	export REPLAY_HEADERS
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Ctrl-C reaches the collector (same process group), which stops cleanly.
trap '' INT
"$@" 2>&1 | tee -i "$log" # tee -i: Ctrl-C must not break the collector's output pipe
status=${PIPESTATUS[0]}
trap - INT
if ! scripts/replay-summary.sh "$log" && [[ $status == 0 ]]; then
	status=1
fi
exit "$status"
