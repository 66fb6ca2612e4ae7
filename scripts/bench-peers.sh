#!/usr/bin/env bash
# One command for the peer comparison (make bench-peers): whole-collector CPU, peak RSS and
# bytes stored per item of session_capture next to contrib's fileexporter, under the same
# telemetrygen v0.161.0 load, in one run on one machine.
#
# Per round, six collectors run one after another (rounds interleaved, the order reversed
# every other round so that drift does not always hit the same one), each under the same
# load (traces, metrics and logs at a fixed rate each, DURATION seconds, OTLP/gRPC on
# loopback), every pipeline otlp -> batch -> one exporter:
#   peer/debug   bin/otelcol-peer, debug exporter            (the peer's baseline)
#   peer/file    bin/otelcol-peer, fileexporter, proto + zstd
#   peer/s3      bin/otelcol-peer, awss3exporter, otlp_proto + gzip, into the S3 server below
#   ours/debug   bin/otelcol-recordreplay, debug exporter    (our baseline)
#   ours/fs      bin/otelcol-recordreplay, session_capture, filesystem store
#   ours/s3      bin/otelcol-recordreplay, session_capture, S3 store on a real S3 server
#                (versitygw, bin/versitygw, posix backend, 127.0.0.1)
# Measured per collector: CPU-seconds (utime+stime from /proc/PID/stat) from just before
# the load starts until everything accepted has been exported; peak RSS (VmHWM); items
# delivered (the exporter's otelcol_exporter_sent_* counters, checked against the
# receiver's accepted counters); bytes stored (every file the exporter wrote, after shutdown).
# Reported: CPU-seconds per million items above the same binary's debug baseline in the
# same round, peak RSS and bytes per item, each as a ratio to fileexporter's in the same
# round, with the median of the rounds. The section of BENCHMARKS.md between
# <!-- bench-peers:start --> and <!-- bench-peers:end --> is regenerated from nothing
# (UPDATE_MD=0: print only). Raw measurements: bench-peers.out (tab-separated).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
# Rounds: at least MIN_ROUNDS, then more until the largest spread of the target figures
# (session_capture against fileexporter on both stores: marginal CPU pooled over the rounds,
# peak RSS; see scripts/bench-peers-report.py) is under SPREAD, at most MAX_ROUNDS.
# ROUNDS=N: exactly N.
MIN_ROUNDS=${ROUNDS:-${MIN_ROUNDS:-5}}
MAX_ROUNDS=${ROUNDS:-${MAX_ROUNDS:-15}}
SPREAD=${SPREAD:-0.10}
DURATION=${DURATION:-25}             # seconds of load per collector
TRACES_RATE=${TRACES_RATE:-10000}    # spans/s
METRICS_RATE=${METRICS_RATE:-5000}   # data points/s
LOGS_RATE=${LOGS_RATE:-5000}         # log records/s
WORKER_RATE=${WORKER_RATE:-1250}     # per telemetrygen worker: one worker tops out near 2k/s
BATCH_SIZE=${BATCH_SIZE:-512}        # items per OTLP request: the OpenTelemetry SDKs' export batch
BENCH_MD=${BENCH_MD:-BENCHMARKS.md}
UPDATE_MD=${UPDATE_MD:-1}
OUT=${OUT:-bench-peers.out}
S3_ACCESS_KEY=bench-peers
S3_SECRET_KEY=bench-peers-secret
BUCKET=bench

for b in otelcol-peer otelcol-recordreplay telemetrygen versitygw; do
	[ -x "$BIN/$b" ] || { echo "bench-peers: $BIN/$b missing (make build build-peer tools, and bin/telemetrygen)" >&2; exit 1; }
done
command -v python3 > /dev/null && command -v curl > /dev/null || { echo "bench-peers: needs python3 and curl" >&2; exit 1; }

work=$(mktemp -d)
pids=()
# run copies, so that a `make build` during the run cannot swap a binary between rounds
mkdir -p "$work/bin"
cp "$BIN/otelcol-peer" "$BIN/otelcol-recordreplay" "$work/bin/"
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
	mkdir -p /tmp/bench-peers-logs && cp "$work"/*.log /tmp/bench-peers-logs/ 2> /dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, whole process
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; } # all cores, all processes
forget_pid() { local p keep=(); for p in "${pids[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done; pids=("${keep[@]}"); }

# The S3 server, for the whole run; each ours/s3 collector writes under its own prefix.
vgw_port=$(free_port)
vgw_dir=$work/s3
mkdir -p "$vgw_dir"
ROOT_ACCESS_KEY=$S3_ACCESS_KEY ROOT_SECRET_KEY=$S3_SECRET_KEY \
	"$BIN/versitygw" --port "127.0.0.1:$vgw_port" posix "$vgw_dir" > "$work/versitygw.log" 2>&1 &
vgw_pid=$!
pids+=("$vgw_pid")
go build -o "$work/s3mkbucket" ./scripts/s3mkbucket
ROOT_ACCESS_KEY=$S3_ACCESS_KEY ROOT_SECRET_KEY=$S3_SECRET_KEY "$work/s3mkbucket" "http://127.0.0.1:$vgw_port" "$BUCKET"

# metric NAME-PREFIX...: sum of the collector's own counters whose names start so
metrics_sum() {
	local port=$1
	shift
	curl -sf "http://127.0.0.1:$port/metrics" | awk -v names="$*" '
		BEGIN { n = split(names, want, " ") }
		/^#/ { next }
		{ for (i = 1; i <= n; i++) if (index($1, want[i]) == 1) { s += $NF; break } }
		END { printf "%d\n", s }'
}
ACCEPTED="otelcol_receiver_accepted_spans otelcol_receiver_accepted_metric_points otelcol_receiver_accepted_log_records"
SENT="otelcol_exporter_sent_spans otelcol_exporter_sent_metric_points otelcol_exporter_sent_log_records"
FAILED="otelcol_exporter_send_failed_spans otelcol_exporter_send_failed_metric_points otelcol_exporter_send_failed_log_records otelcol_exporter_enqueue_failed_spans otelcol_exporter_enqueue_failed_metric_points otelcol_exporter_enqueue_failed_log_records otelcol_receiver_refused_spans otelcol_receiver_refused_metric_points otelcol_receiver_refused_log_records"

workers_for() { echo $(((($1) + WORKER_RATE - 1) / WORKER_RATE)); }
tw=$(workers_for "$TRACES_RATE")
mw=$(workers_for "$METRICS_RATE")
lw=$(workers_for "$LOGS_RATE")
TG_TRACES="traces --workers $tw --rate $(python3 -c "print(f'{$TRACES_RATE/$tw:g}')") --batch-size $BATCH_SIZE"
TG_METRICS="metrics --workers $mw --rate $(python3 -c "print(f'{$METRICS_RATE/$mw:g}')") --batch-size $BATCH_SIZE"
TG_LOGS="logs --workers $lw --rate $(python3 -c "print(f'{$LOGS_RATE/$lw:g}')") --batch-size $BATCH_SIZE"

# run_one ROUND VARIANT: one collector under the load; appends a line to $OUT
run_one() {
	local round=$1 variant=$2 bin exporter store_cfg="" dir="$work/r$1-$2"
	local grpc prom
	grpc=$(free_port)
	prom=$(free_port)
	mkdir -p "$dir"
	case $variant in
	peer/*) bin=$work/bin/otelcol-peer ;;
	ours/*) bin=$work/bin/otelcol-recordreplay ;;
	esac
	case $variant in
	*/debug)
		exporter=debug
		store_cfg="debug: {verbosity: basic}"
		;;
	peer/s3)
		exporter=awss3
		store_cfg="awss3: {marshaler: otlp_proto, s3uploader: {compression: gzip, region: us-east-1, s3_bucket: $BUCKET, s3_prefix: p$round, endpoint: \"http://127.0.0.1:$vgw_port\", s3_force_path_style: true}}"
		;;
	peer/file)
		exporter=file
		store_cfg="file: {path: \"$dir/out/telemetry.pb.zst\", format: proto, compression: zstd, create_directory: true}"
		;;
	ours/fs)
		exporter=session_capture
		store_cfg="session_capture: {store: {backend: filesystem, directory: \"$dir/out\"}}"
		;;
	ours/s3)
		exporter=session_capture
		store_cfg="session_capture: {store: {backend: s3, s3: {bucket: $BUCKET, prefix: r$round, region: us-east-1, endpoint: \"http://127.0.0.1:$vgw_port\", use_path_style: true, access_key_id: $S3_ACCESS_KEY, secret_access_key: $S3_SECRET_KEY}}}"
		;;
	esac
	cat > "$dir/config.yaml" << CFG
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:$grpc"}
processors:
  batch: {}
exporters:
  $store_cfg
service:
  telemetry:
    logs: {level: warn}
    metrics:
      level: basic
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: $prom}}}
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [$exporter]}
    metrics: {receivers: [otlp], processors: [batch], exporters: [$exporter]}
    logs: {receivers: [otlp], processors: [batch], exporters: [$exporter]}
CFG
	local log="$work/r$round-${variant/\//-}.log"
	AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY "$bin" --config "$dir/config.yaml" > "$log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	local ready=0
	for _ in $(seq 300); do
		if curl -sf "http://127.0.0.1:$prom/metrics" > /dev/null; then ready=1 && break; fi
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.1
	done
	[ $ready = 1 ] || { echo "bench-peers: $variant did not start:" >&2; tail -20 "$log" >&2; exit 1; }
	sleep 1
	local cpu0 vcpu0 t0 cpu1 vcpu1 t1 busy0 busy1
	cpu0=$(cpu_ticks "$pid")
	vcpu0=$(cpu_ticks "$vgw_pid")
	busy0=$(machine_busy_ticks)
	t0=$(date +%s.%N)
	local tg=() rc=0
	# shellcheck disable=SC2086
	for args in "$TG_TRACES" "$TG_METRICS" "$TG_LOGS"; do
		"$BIN/telemetrygen" $args --otlp-endpoint "127.0.0.1:$grpc" --otlp-insecure \
			--duration "${DURATION}s" > "$dir/telemetrygen-${args%% *}.log" 2>&1 &
		tg+=($!)
	done
	for p in "${tg[@]}"; do wait "$p" || rc=$?; done
	[ $rc = 0 ] || echo "bench-peers: $variant: a telemetrygen exited with $rc (see $dir)" >&2
	# wait until everything accepted has been exported (or failed), at most 120 s
	local acc sent failed prev=-1 stable=0
	for _ in $(seq 480); do
		acc=$(metrics_sum "$prom" $ACCEPTED)
		sent=$(metrics_sum "$prom" $SENT)
		failed=$(metrics_sum "$prom" $FAILED)
		if [ $((sent + failed)) -ge "$acc" ] && [ "$sent" = "$prev" ]; then
			stable=$((stable + 1))
			[ $stable -ge 2 ] && break
		else
			stable=0
		fi
		prev=$sent
		sleep 0.25
	done
	cpu1=$(cpu_ticks "$pid")
	vcpu1=$(cpu_ticks "$vgw_pid")
	busy1=$(machine_busy_ticks)
	t1=$(date +%s.%N)
	local hwm
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
	kill -TERM "$pid"
	wait "$pid" || true
	forget_pid "$pid"
	local bytes=0 files=0 status=-
	case $variant in
	*/debug) ;;
	peer/s3)
		bytes=$(find "$vgw_dir/$BUCKET/p$round" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d\n", s}')
		files=$(find "$vgw_dir/$BUCKET/p$round" -type f | wc -l)
		;;
	ours/s3)
		bytes=$(find "$vgw_dir/$BUCKET/r$round" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d\n", s}')
		files=$(find "$vgw_dir/$BUCKET/r$round" -type f | wc -l)
		status=$(find "$vgw_dir/$BUCKET/r$round" -name metadata.json -exec grep -ho '"status": *"[a-z]*"' {} + | sed 's/.*"\([a-z]*\)"$/\1/' | sort | uniq -c | awk '{printf "%s%s×%s", (NR > 1 ? "," : ""), $2, $1}')
		;;
	*)
		bytes=$(find "$dir/out" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d\n", s}')
		files=$(find "$dir/out" -type f | wc -l)
		if [ "$variant" = ours/fs ]; then
			status=$(find "$dir/out" -name metadata.json -exec grep -ho '"status": *"[a-z]*"' {} + | sed 's/.*"\([a-z]*\)"$/\1/' | sort | uniq -c | awk '{printf "%s%s×%s", (NR > 1 ? "," : ""), $2, $1}')
		fi
		;;
	esac
	printf '%s\t%s\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%s\n' "$round" "$variant" \
		"$(python3 -c "print(($cpu1 - $cpu0) / $clk_tck)")" "$sent" "$acc" "$failed" "$hwm" "$bytes" "$files" \
		"$(python3 -c "print(($vcpu1 - $vcpu0) / $clk_tck)")" "$(python3 -c "print($t1 - $t0)")" \
		"$(python3 -c "print(($busy1 - $busy0) / $clk_tck / ($t1 - $t0))")" "$status" | tee -a "$OUT"
	rm -rf "$dir/out"
}

start_date=$(date -u +%Y-%m-%d)
printf 'round\tvariant\tcpu_s\titems\taccepted\tfailed\tpeak_rss_kib\tbytes\tfiles\ts3_server_cpu_s\twall_s\tmachine_busy_cores\tsession_status\n' | tee "$OUT"
order=(peer/debug peer/file peer/s3 ours/debug ours/fs ours/s3)
round=0
while [ "$round" -lt "$MAX_ROUNDS" ]; do
	round=$((round + 1))
	if [ $((round % 2)) = 0 ]; then
		seq_=("${order[@]}")
		order_r=()
		for ((i = ${#seq_[@]} - 1; i >= 0; i--)); do order_r+=("${seq_[i]}"); done
	else
		order_r=("${order[@]}")
	fi
	for v in "${order_r[@]}"; do run_one "$round" "$v"; done
	if [ "$round" -ge "$MIN_ROUNDS" ]; then
		worst=$(BP_OUT=$OUT python3 scripts/bench-peers-report.py --spread)
		echo "bench-peers: after round $round the largest spread of the target figures is ±$(python3 -c "print(f'{100 * $worst:.0f}')") %" >&2
		python3 -c "import sys; sys.exit(0 if $worst < $SPREAD else 1)" && break
	fi
done
ROUNDS=$round

# The modules of contrib that would be peers too, asked of the module proxy as this run did.
unserved=$work/unserved.txt
: > "$unserved"
# The environment's GOPROXY without its fallback to version control: the question is what
# the proxy serves (the report names no registry's address).
proxy=$(go env GOPROXY)
proxy=${proxy%,direct}
proxy=${proxy%|direct}
for m in receiver/awss3receiver receiver/otlpjsonfilereceiver receiver/filereceiver; do
	mod=github.com/open-telemetry/opentelemetry-collector-contrib/$m
	list=$(cd "$work" && GOPROXY=$proxy GOFLAGS=-mod=mod go list -m -versions "$mod" 2>&1 | tail -1 | tr '\t' ' ' || true)
	dl=$(cd "$work" && GOPROXY=$proxy GOFLAGS=-mod=mod go mod download -json "$mod@v0.165.1" 2>&1 |
		python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("Error", "served").split("\n")[0])
except Exception as e: print("unparsable answer")' || true)
	printf '%s\t%s\t%s\n' "$m" "$list" "$dl" >> "$unserved"
done

modver() { go version -m "$1" | awk -v m="$2" '$1 == "dep" && $2 == m {print $3}'; }
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
export BP_OUT=$OUT BP_MD=$BENCH_MD BP_UPDATE=$UPDATE_MD BP_UNSERVED=$unserved BP_DATE=$start_date \
	BP_COMMIT=$(git rev-parse --short HEAD) BP_DIRTY=$(git status --porcelain --untracked-files=no -- '*.go' go.mod go.sum builder-config.yaml testbed/peer-builder-config.yaml ':!*_test.go' | wc -l) \
	BP_CPU="$cpu_model" BP_CORES=$(nproc) BP_KERNEL=$(uname -r) BP_GO=$(go env GOVERSION) \
	BP_ROUNDS=$ROUNDS BP_ROUNDS_ASKED="MIN_ROUNDS=$MIN_ROUNDS MAX_ROUNDS=$MAX_ROUNDS SPREAD=$SPREAD" BP_DURATION=$DURATION BP_BATCH=$BATCH_SIZE BP_TRACES="$TG_TRACES" BP_METRICS="$TG_METRICS" BP_LOGS="$TG_LOGS" \
	BP_RATES="$TRACES_RATE $METRICS_RATE $LOGS_RATE" \
	BP_V_FILE=$(modver "$BIN/otelcol-peer" github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter) \
	BP_V_S3=$(modver "$BIN/otelcol-peer" github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awss3exporter) \
	BP_V_CORE=$(modver "$BIN/otelcol-peer" go.opentelemetry.io/collector/receiver/otlpreceiver) \
	BP_V_STABLE=$(modver "$BIN/otelcol-peer" go.opentelemetry.io/collector/pdata) \
	BP_V_OURS_CORE=$(modver "$BIN/otelcol-recordreplay" go.opentelemetry.io/collector/receiver/otlpreceiver) \
	BP_V_TG=$(go version -m "$BIN/telemetrygen" | awk '$1 == "mod" {print $3}') \
	BP_V_VGW=$(go version -m "$BIN/versitygw" | awk '$1 == "mod" {print $3}')
python3 scripts/bench-peers-report.py
