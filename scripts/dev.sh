#!/usr/bin/env bash
# A local S3 dev stack: versitygw (S3 on loopback) with a bucket, and
# bin/otelcol-recordreplay capturing OTLP into it (configs/capture-minio.yaml),
# both in the background under DEV_DIR.
#   scripts/dev.sh up     start both (or say they are up), print the endpoints and
#                         the lines that use them, write DEV_DIR/env     (make dev-up)
#   scripts/dev.sh down   stop the collector (SIGTERM: its session is completed),
#                         then the S3 server; the data stays              (make dev-down)
# Settings (environment):
#   DEV_DIR                 .dev at the repository root: s3/ (the bucket's files),
#                           *.log, *.pid, env (for `source`)
#   DEV_S3_PORT             9000 (S3 on 127.0.0.1:DEV_S3_PORT)
#   DEV_BUCKET              otel-data
#   DEV_ACCESS_KEY          recordreplay
#   DEV_SECRET_KEY          recordreplay-dev-secret
#   DEV_OTLP_GRPC_ENDPOINT  127.0.0.1:4317  (or OTLP_GRPC_ENDPOINT)
#   DEV_OTLP_HTTP_ENDPOINT  127.0.0.1:4318  (or OTLP_HTTP_ENDPOINT)
#   DEV_HEALTH_ENDPOINT     127.0.0.1:13133 (or HEALTH_ENDPOINT)
#   DEV_CONFIG              configs/capture-minio.yaml
#   DEV_WAIT                60 (seconds to wait for each process to be ready)
#   DEV_STOP_TIMEOUT        15 (seconds the collector gets to exit on SIGTERM)
# The collector also takes the config's CAPTURE_SESSION_ID, CAPTURE_DESCRIPTION and
# CAPTURE_MAX_DURATION from the environment.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dev_dir=${DEV_DIR:-$root/.dev}
case $dev_dir in
/*) ;;
*) dev_dir=$PWD/$dev_dir ;;
esac
dev_dir=${dev_dir%/}
cd "$root"

bin=$root/bin
state=$dev_dir/dev.state # the settings of the running stack
envfile=$dev_dir/env
vgw_pidfile=$dev_dir/versitygw.pid
vgw_log=$dev_dir/versitygw.log
col_pidfile=$dev_dir/collector.pid
col_log=$dev_dir/collector.log

# the command that stops this stack
down_cmd="make dev-down"
if [ "$dev_dir" != "$root/.dev" ]; then down_cmd="make dev-down DEV_DIR=$(printf %q "$dev_dir")"; fi

say() { printf 'dev: %s\n' "$*"; }
err() { printf 'dev: %s\n' "$*" >&2; }

# show PATH: a path relative to the repository root when it is inside it
show() {
	case $1 in
	"$root"/*) printf '%s' "${1#"$root"/}" ;;
	*) printf '%s' "$1" ;;
	esac
}

# running PIDFILE NAME: the pid in PIDFILE if it is a live process whose command
# line names NAME (a stale file, a zombie or a reused pid does not count)
running() {
	local pid st args
	[ -f "$1" ] || return 1
	pid=$(tr -dc '0-9' < "$1")
	[ -n "$pid" ] || return 1
	st=$(ps -p "$pid" -o stat= 2> /dev/null) || return 1
	case $st in
	Z* | "") return 1 ;;
	esac
	args=$(ps -p "$pid" -o args= 2> /dev/null) || return 1
	case $args in
	*"$2"*) printf '%s' "$pid" ;;
	*) return 1 ;;
	esac
}

# stop LABEL PIDFILE NAME TIMEOUT: SIGTERM, wait up to TIMEOUT s, then SIGKILL
stop() {
	local label=$1 pidfile=$2 name=$3 timeout=$4 pid i
	if ! pid=$(running "$pidfile" "$name"); then
		if [ -f "$pidfile" ]; then say "$label was not running (removed $(show "$pidfile"))"; fi
		rm -f "$pidfile"
		return 0
	fi
	say "stopping $label (pid $pid, SIGTERM)"
	kill -TERM "$pid" 2> /dev/null || true
	for ((i = 0; i < timeout * 5; i++)); do
		running "$pidfile" "$name" > /dev/null || break
		sleep 0.2
	done
	if running "$pidfile" "$name" > /dev/null; then
		err "$label (pid $pid) still running after ${timeout}s: SIGKILL"
		if [ "$name" = otelcol-recordreplay ]; then
			err "sessions it had open may stay active: bin/sessionctl verify --repair <id> completes them"
		fi
		kill -KILL "$pid" 2> /dev/null || true
		for ((i = 0; i < 25; i++)); do
			running "$pidfile" "$name" > /dev/null || break
			sleep 0.2
		done
	fi
	rm -f "$pidfile"
	say "stopped $label"
}

# start NAME PIDFILE LOG CMD...: CMD in the background, in a session of its own
# (setsid where there is one) with SIGHUP ignored, so that it outlives make and
# the terminal; stdin from /dev/null, output appended to LOG
start() {
	local name=$1 pidfile=$2 log=$3 i
	shift 3
	local detach=(nohup)
	command -v setsid > /dev/null && detach=(setsid nohup)
	rm -f "$pidfile"
	printf '\n=== %s: starting %s (scripts/dev.sh)\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" >> "$log"
	# the inner shell writes its own pid and becomes CMD (exec keeps the pid)
	"${detach[@]}" bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" < /dev/null >> "$log" 2>&1 &
	for ((i = 0; i < 50; i++)); do
		if [ -s "$pidfile" ]; then return 0; fi
		sleep 0.1
	done
	err "$name did not start (no $(show "$pidfile"))"
	return 1
}

# probe HOST:PORT: the address to connect to for a listen address
probe() {
	local host=${1%:*} port=${1##*:}
	case $host in
	"" | 0.0.0.0) host=127.0.0.1 ;;
	"[::]") host="[::1]" ;;
	esac
	printf '%s:%s' "$host" "$port"
}

# in_use HOST:PORT: something accepts connections there
in_use() {
	local a host port
	a=$(probe "$1")
	host=${a%:*} port=${a##*:}
	host=${host#[}
	host=${host%]}
	local bounded=()
	if command -v timeout > /dev/null; then bounded=(timeout 2); fi
	${bounded[@]+"${bounded[@]}"} bash -c 'exec 3<> "/dev/tcp/$0/$1"' "$host" "$port" 2> /dev/null
}

# http_code URL: the status code of a GET (000: no answer)
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2> /dev/null || true; }

# bind_error LOG: the address a process could not bind, from its log
bind_error() { grep -o 'listen tcp [^ ]*: bind: address already in use' "$1" 2> /dev/null | tail -1 | awk '{print $3}' | sed 's/:$//' || true; }

# settings from the environment, or those of the running stack
settings_from_env() {
	S3_PORT=${DEV_S3_PORT:-9000}
	BUCKET=${DEV_BUCKET:-otel-data}
	ACCESS_KEY=${DEV_ACCESS_KEY:-recordreplay}
	SECRET_KEY=${DEV_SECRET_KEY:-recordreplay-dev-secret}
	GRPC=${DEV_OTLP_GRPC_ENDPOINT:-${OTLP_GRPC_ENDPOINT:-127.0.0.1:4317}}
	HTTP=${DEV_OTLP_HTTP_ENDPOINT:-${OTLP_HTTP_ENDPOINT:-127.0.0.1:4318}}
	HEALTH=${DEV_HEALTH_ENDPOINT:-${HEALTH_ENDPOINT:-127.0.0.1:13133}}
	CONFIG=${DEV_CONFIG:-configs/capture-minio.yaml}
}
save_settings() {
	{
		printf '# settings of the dev stack started %s (read by scripts/dev.sh)\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		local v
		for v in S3_PORT BUCKET ACCESS_KEY SECRET_KEY GRPC HTTP HEALTH CONFIG; do
			printf '%s=%q\n' "$v" "${!v}"
		done
	} > "$state"
}

# print_info: where everything is, and the lines that use it; writes DEV_DIR/env
print_info() {
	local endpoint=http://127.0.0.1:$S3_PORT
	local otlp_http=http://$(probe "$HTTP")
	local keys s3vars
	keys="AWS_ACCESS_KEY_ID=$(printf %q "$ACCESS_KEY") AWS_SECRET_ACCESS_KEY=$(printf %q "$SECRET_KEY")"
	s3vars="STORE=s3 S3_ENDPOINT=$endpoint S3_BUCKET=$(printf %q "$BUCKET") $keys"
	cat > "$envfile" << EOF
# The dev stack's store and collector (scripts/dev.sh); \`source $(show "$envfile")\` and
# make seed, make seed-quick, make replay use it. Pass bin/sessionctl the --s3-* flags.
export STORE=s3
export S3_ENDPOINT=$endpoint
export S3_BUCKET=$(printf %q "$BUCKET")
export S3_PREFIX=
export S3_REGION=us-east-1
export S3_PATH_STYLE=true
export AWS_ACCESS_KEY_ID=$(printf %q "$ACCESS_KEY")
export AWS_SECRET_ACCESS_KEY=$(printf %q "$SECRET_KEY")
export OTEL_EXPORTER_OTLP_ENDPOINT=$otlp_http
EOF
	cat << EOF
dev: S3 (versitygw)   $endpoint  bucket $BUCKET  (files in $(show "$dev_dir/s3"))
dev: credentials      access key $ACCESS_KEY  secret key $SECRET_KEY
dev: collector        OTLP gRPC $GRPC  OTLP HTTP $otlp_http  health http://$(probe "$HEALTH")/
dev:                  $CONFIG, capturing into s3://$BUCKET/sessions/
dev: logs             $(show "$vgw_log")  $(show "$col_log")
dev: pid files        $(show "$vgw_pidfile") ($(cat "$vgw_pidfile"))  $(show "$col_pidfile") ($(cat "$col_pidfile"))

Send telemetry:       OTEL_EXPORTER_OTLP_ENDPOINT=$otlp_http (OTLP/HTTP), or gRPC at $GRPC
Seed a session into the bucket:
  make seed-quick $s3vars
Replay the latest completed session to the debug exporter, or back into the dev collector:
  make replay $s3vars
  make replay $s3vars REPLAY_ENDPOINT=$otlp_http
List the sessions:
  $keys bin/sessionctl --s3-bucket $(printf %q "$BUCKET") --s3-endpoint $endpoint --s3-path-style list
The same variables, for your shell:  source $(show "$envfile")
Stop both (the data stays in $(show "$dev_dir")):
  $down_cmd
EOF
}

# started: what this invocation started, stopped again if it fails
started=()
up_ok=0
on_exit() {
	local rc=$?
	if [ $up_ok = 0 ] && [ ${#started[@]} -gt 0 ]; then
		err "start-up failed: stopping what was started"
		local i
		for ((i = ${#started[@]} - 1; i >= 0; i--)); do # the collector first
			case ${started[i]} in
			collector) stop "the collector" "$col_pidfile" otelcol-recordreplay 5 >&2 ;;
			versitygw) stop versitygw "$vgw_pidfile" versitygw 5 >&2 ;;
			esac
		done
		rm -f "$state"
	fi
	exit $rc
}

# fail LOG MESSAGE...: the message and the log's tail, then exit 1 (on_exit stops
# what was started)
fail() {
	local log=$1 addr
	shift
	err "$*"
	addr=$(bind_error "$log")
	if [ -n "$addr" ]; then err "port ${addr##*:} is taken: $addr is in use by another process"; fi
	if [ -f "$log" ]; then
		err "last lines of $(show "$log"):"
		tail -n 20 "$log" | sed 's/^/    /' >&2
	fi
	exit 1
}

up() {
	local b
	for b in otelcol-recordreplay sessionctl versitygw; do
		[ -x "$bin/$b" ] || { err "$(show "$bin/$b") missing: run make dev-up (it builds and installs it)"; exit 1; }
	done
	command -v curl > /dev/null || { err "needs curl"; exit 1; }
	mkdir -p "$dev_dir/s3"

	local vgw_pid="" col_pid=""
	vgw_pid=$(running "$vgw_pidfile" versitygw) || true
	col_pid=$(running "$col_pidfile" otelcol-recordreplay) || true
	if [ -n "$vgw_pid$col_pid" ] && [ -f "$state" ]; then
		# shellcheck disable=SC1090
		source "$state" # a running stack keeps its settings
	else
		settings_from_env
	fi
	if [ -n "$vgw_pid" ] && [ -n "$col_pid" ]; then
		say "already up (versitygw pid $vgw_pid, collector pid $col_pid); $down_cmd stops it"
		print_info
		return 0
	fi
	if [ -n "$vgw_pid" ]; then say "versitygw already running (pid $vgw_pid)"; else rm -f "$vgw_pidfile"; fi
	if [ -n "$col_pid" ]; then say "collector already running (pid $col_pid)"; else rm -f "$col_pidfile"; fi

	# every address free and distinct before anything starts
	local s3_addr=127.0.0.1:$S3_PORT what addr seen=" " config=$CONFIG
	case $config in
	/*) ;;
	*) config=$root/$config ;;
	esac
	[ -f "$config" ] || { err "no config $config (DEV_CONFIG)"; exit 1; }
	local -a check=()
	if [ -z "$vgw_pid" ]; then check+=("S3 (DEV_S3_PORT)=$s3_addr"); fi
	if [ -z "$col_pid" ]; then check+=("OTLP gRPC (DEV_OTLP_GRPC_ENDPOINT)=$GRPC" "OTLP HTTP (DEV_OTLP_HTTP_ENDPOINT)=$HTTP" "health check (DEV_HEALTH_ENDPOINT)=$HEALTH"); fi
	for what in "${check[@]}"; do
		addr=${what##*=}
		case $seen in
		*" ${addr##*:} "*)
			err "port ${addr##*:} is given twice (${what%=*})"
			exit 1
			;;
		esac
		seen="$seen${addr##*:} "
		if in_use "$addr"; then
			err "port ${addr##*:} is taken: something already listens on $addr, wanted for ${what%=*}; stop it or choose another port"
			exit 1
		fi
	done

	save_settings
	trap on_exit EXIT
	trap 'exit 130' INT TERM
	local wait_s=${DEV_WAIT:-60} deadline code

	if [ -z "$vgw_pid" ]; then
		say "starting versitygw on $s3_addr (log $(show "$vgw_log"))"
		start versitygw "$vgw_pidfile" "$vgw_log" \
			env ROOT_ACCESS_KEY="$ACCESS_KEY" ROOT_SECRET_KEY="$SECRET_KEY" \
			"$bin/versitygw" --quiet --port "$s3_addr" posix "$dev_dir/s3" || fail "$vgw_log" "versitygw did not start"
		started+=(versitygw)
	fi
	code=000
	deadline=$((SECONDS + wait_s))
	while ((SECONDS < deadline)); do
		code=$(http_code "http://$s3_addr/")
		if [ "$code" != 000 ]; then break; fi
		running "$vgw_pidfile" versitygw > /dev/null || fail "$vgw_log" "versitygw exited during start-up"
		sleep 0.2
	done
	[ "$code" != 000 ] || fail "$vgw_log" "S3 at http://$s3_addr did not answer within ${wait_s}s"

	if [ ! -d "$dev_dir/s3/$BUCKET" ]; then
		local mk=$dev_dir/bin/s3mkbucket
		if [ ! -x "$mk" ] || [ scripts/s3mkbucket/main.go -nt "$mk" ]; then
			say "building $(show "$mk")"
			"${GO:-go}" build -o "$mk" ./scripts/s3mkbucket
		fi
		say "creating bucket $BUCKET"
		ROOT_ACCESS_KEY=$ACCESS_KEY ROOT_SECRET_KEY=$SECRET_KEY "$mk" "http://$s3_addr" "$BUCKET" ||
			fail "$vgw_log" "could not create bucket $BUCKET"
	fi

	if [ -z "$col_pid" ]; then
		say "starting the collector with $CONFIG (log $(show "$col_log"))"
		start collector "$col_pidfile" "$col_log" \
			env OTLP_GRPC_ENDPOINT="$GRPC" OTLP_HTTP_ENDPOINT="$HTTP" HEALTH_ENDPOINT="$HEALTH" \
			S3_ENDPOINT="http://$s3_addr" S3_BUCKET="$BUCKET" S3_PREFIX= S3_REGION=us-east-1 S3_PATH_STYLE=true \
			AWS_ACCESS_KEY_ID="$ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$SECRET_KEY" \
			CAPTURE_DESCRIPTION="${CAPTURE_DESCRIPTION:-dev stack (make dev-up)}" \
			"$bin/otelcol-recordreplay" --config "$config" || fail "$col_log" "the collector did not start"
		started+=(collector)
	fi
	code=000
	deadline=$((SECONDS + wait_s))
	while ((SECONDS < deadline)); do
		code=$(http_code "http://$(probe "$HEALTH")/")
		if [ "$code" = 200 ]; then break; fi
		running "$col_pidfile" otelcol-recordreplay > /dev/null || fail "$col_log" "the collector exited during start-up"
		sleep 0.2
	done
	[ "$code" = 200 ] || fail "$col_log" "the collector's health check (http://$(probe "$HEALTH")/) did not return 200 within ${wait_s}s (last: $code)"

	up_ok=1
	say "up"
	print_info
}

down() {
	if [ ! -f "$col_pidfile" ] && [ ! -f "$vgw_pidfile" ]; then
		say "nothing running (no pid files in $(show "$dev_dir"))"
		return 0
	fi
	# the collector first, so that it completes its sessions while S3 is still there
	stop "the collector" "$col_pidfile" otelcol-recordreplay "${DEV_STOP_TIMEOUT:-15}"
	stop versitygw "$vgw_pidfile" versitygw 10
	rm -f "$state"
	say "down; the data stays in $(show "$dev_dir")"
}

case ${1:-} in
up) up ;;
down) down ;;
*)
	echo "usage: scripts/dev.sh up|down (make dev-up, make dev-down)" >&2
	exit 2
	;;
esac
