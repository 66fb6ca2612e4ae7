#!/usr/bin/env bash
# make validate: the validation workflow, end to end, on the filesystem store.
#   1. seed PATTERN (payment-failure) with the fast clock, captured as a seed session
#   2. start a collector capturing (collector-config.yaml) into the same store
#   3. replay the seed session into it at SPEED (4x) with current timestamps
#   4. stop the capture (its session completes): the replayed copy is <seed id>-2,
#      since replayed seed data still names its session (test.session.id)
#   5. sessionctl diff <seed id> <seed id>-2 --shifted: equal up to one time shift
#      per object (current timestamps at 4x) and nothing else; exit status = diff's
#   6. print the seed session's phase table
# Settings (environment): VALIDATE_DIR (default: a new temporary directory; kept,
# with the logs), VALIDATE_PATTERN (payment-failure), VALIDATE_SPEED (4),
# VALIDATE_OTLP_GRPC / VALIDATE_OTLP_HTTP / VALIDATE_HEALTH / VALIDATE_CONTROL /
# VALIDATE_TELEMETRY / VALIDATE_REPLAY_TELEMETRY (loopback host:port or port of the
# collectors: 127.0.0.1:24317, :24318, :24133, :24320, ports 24888 and 24889).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

otelcol=bin/otelcol-recordreplay
sessionctl=bin/sessionctl
dir=${VALIDATE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/recordreplay-validate.XXXXXX")}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
store=$dir/data
pattern=${VALIDATE_PATTERN:-payment-failure}
speed=${VALIDATE_SPEED:-4}
grpc=${VALIDATE_OTLP_GRPC:-127.0.0.1:24317}
http=${VALIDATE_OTLP_HTTP:-127.0.0.1:24318}
health=${VALIDATE_HEALTH:-127.0.0.1:24133}
ctl=${VALIDATE_CONTROL:-127.0.0.1:24320}
tport=${VALIDATE_TELEMETRY:-24888}
rport=${VALIDATE_REPLAY_TELEMETRY:-24889}

# Each collector gets only the settings below: nothing from the caller's
# environment (a `source .dev/env` exports STORE=s3 and S3 settings, a
# REPLAY_SIGNALS would narrow the replay) may change what is compared.
clean=(env -i PATH="$PATH" HOME="${HOME:-/tmp}" TMPDIR="${TMPDIR:-/tmp}")

say() { printf 'validate: %s\n' "$*"; }
fail() {
	printf 'validate: %s\n' "$*" >&2
	exit 1
}
[[ -x $otelcol && -x $sessionctl ]] || fail "bin/ has no collector or sessionctl: run make build"
if [[ -e $store ]] && [[ -n $(ls -A "$store" 2>/dev/null) ]]; then
	fail "$store is not empty: give VALIDATE_DIR a new directory"
fi

capture_pid=
cleanup() {
	if [[ -n $capture_pid ]] && kill -0 "$capture_pid" 2>/dev/null; then
		kill -TERM "$capture_pid" 2>/dev/null || true
		wait "$capture_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# 1. seed
say "1/5 seeding $pattern (clock fast) into $store"
"${clean[@]}" SEED_PATTERN=$pattern SEED_CLOCK=fast SEED_DURATION=0s SEED_DESCRIPTION="make validate" \
	STORE=filesystem CAPTURE_DIR=$store \
	scripts/run-until.sh "Seed finished" "$otelcol" --config configs/seed.yaml >"$dir/seed.log" 2>&1 ||
	fail "seeding failed (exit $?); see $dir/seed.log"
seed_id=$("$sessionctl" --dir "$store" list | awk 'NR == 2 { print $1 }')
[[ -n $seed_id ]] || fail "no seed session in $store; see $dir/seed.log"
say "    seed session $seed_id"

# 2. the capturing collector
say "2/5 starting a collector capturing into the same store (OTLP/HTTP $http)"
"${clean[@]}" CAPTURE_DIR=$store OTLP_GRPC_ENDPOINT=$grpc OTLP_HTTP_ENDPOINT=$http HEALTH_ENDPOINT=$health \
	CONTROL_ENDPOINT=$ctl TELEMETRY_PORT=$tport CAPTURE_DESCRIPTION="make validate: replayed" \
	"$otelcol" --config collector-config.yaml >"$dir/capture.log" 2>&1 &
capture_pid=$!
for _ in $(seq 300); do
	if curl -fsS -o /dev/null "http://$health/" 2>/dev/null; then
		break
	fi
	kill -0 "$capture_pid" 2>/dev/null || fail "the capturing collector exited; see $dir/capture.log"
	sleep 0.1
done
curl -fsS -o /dev/null "http://$health/" || fail "the capturing collector is not healthy after 30 s; see $dir/capture.log"

# 3. replay
say "3/5 replaying $seed_id at ${speed}x with current timestamps into it"
"${clean[@]}" STORE=filesystem REPLAY_DIR=$store REPLAY_SESSION=$seed_id REPLAY_SPEED=$speed REPLAY_TIMESTAMPS=current REPLAY_LOOPS=1 \
	REPLAY_EXPORTER=otlp_http REPLAY_ENDPOINT=http://$http REPLAY_SHUTDOWN_WHEN_DONE=true TELEMETRY_PORT=$rport \
	"$otelcol" --config configs/replay.yaml >"$dir/replay.log" 2>&1 ||
	fail "the replay failed (exit $?); see $dir/replay.log"
scripts/replay-summary.sh "$dir/replay.log" | sed 's/^/    /'

# 4. stop the capture: its sessions complete
say "4/5 stopping the capturing collector"
kill -TERM "$capture_pid"
wait "$capture_pid" || fail "the capturing collector exited with $?; see $dir/capture.log"
capture_pid=
replayed=$seed_id-2
"$sessionctl" --dir "$store" show "$replayed" >/dev/null 2>&1 ||
	fail "no replayed session $replayed in $store; see $dir/capture.log"

# 5. compare
say "5/5 sessionctl diff $seed_id $replayed --shifted"
set +e
"$sessionctl" --dir "$store" diff "$seed_id" "$replayed" --shifted
rc=$?
set -e

echo
say "phases of $seed_id:"
"$sessionctl" --dir "$store" phases "$seed_id" || true
echo
if [[ $rc -eq 0 ]]; then
	say "OK: the replay delivered what was recorded (data and logs in $dir)"
else
	say "FAILED: the replay differs from the recording (exit $rc; data and logs in $dir)"
fi
exit "$rc"
