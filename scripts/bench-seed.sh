#!/usr/bin/env bash
# One command for the seed_gen throughput comparison (make bench-seed):
#  1. go test -bench BenchmarkSeedFast: seed_gen, clock fast, spans/s;
#  2. seed_gen in the distribution (clock fast) exporting OTLP/gRPC to a
#     second collector, counted on the receiving side: the same path as
#  3. telemetrygen v0.161.0 sending OTLP/gRPC at fixed --rate values to the
#     distribution's otlp receiver on loopback, counted on the receiving side
#     (otelcol_receiver_accepted_spans), since telemetrygen drops spans when
#     unthrottled.
# For 2 and 3 also the CPU-seconds of the generating process alone (user + system,
# from wait4 by scripts/cpu-of.py: the seed_gen collector, or telemetrygen), and so
# spans delivered per CPU-second of the generator.
# Both on this machine, in this run. Output: a small table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/bin
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
RATES=${RATES:-"2000 5000 10000 20000"}
WORKERS=${WORKERS:-8}

echo "== seed_gen (clock: fast), go test -bench"
go test -run '^$' -bench BenchmarkSeedFast -benchtime 3x -count 3 ./receiver/seedgenreceiver/ | tee bench-seed.out | grep Benchmark

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
grpc=$(free_port)
prom=$(free_port)
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; cp "$work"/*.log /tmp/ 2>/dev/null; rm -rf "$work"' EXIT
cat > "$work/config.yaml" <<CFG
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:$grpc"}
processors:
  batch: {}
exporters:
  debug: {verbosity: basic, sampling_initial: 1, sampling_thereafter: 1000}
service:
  telemetry:
    logs: {level: warn}
    metrics:
      level: basic
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: $prom}}}
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}
CFG
"$BIN/otelcol-recordreplay" --config "$work/config.yaml" > "$work/collector.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$prom/metrics" > /dev/null && break; sleep 0.1; done

accepted() {
	curl -sf "http://127.0.0.1:$prom/metrics" | awk '/^otelcol_receiver_accepted_spans/ {s += $NF} END {printf "%d\n", s}'
}

echo "== telemetrygen v0.161.0 -> otlp receiver, $WORKERS workers, ${SECONDS_PER_RUN}s per rate (--rate is spans/s per worker)"
printf "%-22s %14s %16s %14s %18s\n" "--rate (per worker)" "spans offered/s" "spans accepted/s" "generator CPU-s" "spans per CPU-s" | tee bench-telemetrygen.out
for rate in $RATES; do
	before=$(accepted)
	start=$(date +%s.%N)
	python3 scripts/cpu-of.py "$work/tg.cpu" "$BIN/telemetrygen" traces --otlp-endpoint "127.0.0.1:$grpc" --otlp-insecure --rate "$rate" \
		--workers "$WORKERS" --duration "${SECONDS_PER_RUN}s" > "$work/tg.log" 2>&1 || true
	sleep 1 # let the last batch land
	end=$(date +%s.%N)
	after=$(accepted)
	python3 - "$rate" "$WORKERS" "$before" "$after" "$SECONDS_PER_RUN" "$(cat "$work/tg.cpu")" <<'PY' | tee -a bench-telemetrygen.out
import sys
rate, workers, before, after, secs, cpu = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
print(f"{int(rate):<22d} {rate*workers:>14.0f} {(after-before)/secs:>16.0f} {cpu:>14.2f} {(after-before)/cpu:>18.0f}")
PY
done

echo "== seed_gen in bin/otelcol-recordreplay (clock fast, traces only) -> otlp_grpc -> the same otlp receiver"
cat > "$work/seed.yaml" <<CFG
receivers:
  seed_gen: {pattern: basic-topology, clock: fast, traces_per_second: 2000, duration: 20s, start_time: "2026-11-28T12:00:00Z"}
exporters:
  otlp_grpc:
    endpoint: "127.0.0.1:$grpc"
    tls: {insecure: true}
    # split seed batches (1 s of virtual time) under gRPC's 4 MiB message limit
    sending_queue: {enabled: true, block_on_overflow: true, batch: {min_size: 4096, max_size: 8192}}
service:
  telemetry: {metrics: {level: none}, logs: {level: info}}
  pipelines:
    traces: {receivers: [seed_gen], exporters: [otlp_grpc]}
CFG
before=$(accepted)
start=$(date +%s.%N)
scripts/run-until.sh "Seed finished" python3 scripts/cpu-of.py "$work/seed.cpu" "$BIN/otelcol-recordreplay" --config "$work/seed.yaml" > "$work/seed.log" 2>&1
end=$(date +%s.%N)
sleep 1
after=$(accepted)
python3 - "$before" "$after" "$start" "$end" "$(cat "$work/seed.cpu")" <<'PY' | tee bench-seed-otlp.out
import sys
before, after, start, end, cpu = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
n = after - before
print(f"seed_gen over OTLP/gRPC: {n} spans accepted in {end-start:.2f}s = {n/(end-start):.0f} spans/s; "
      f"generator CPU {cpu:.2f} s = {n/cpu:.0f} spans per CPU-second")
PY

echo "== spans delivered per CPU-second of the generating process"
python3 - bench-seed-otlp.out bench-telemetrygen.out <<'PY'
import re, sys
seed = float(re.search(r"= (\d+) spans per CPU-second", open(sys.argv[1]).read()).group(1))
rows = [l.split() for l in open(sys.argv[2]).read().splitlines()[1:] if l.strip()]
best = max(rows, key=lambda r: float(r[4]))
tg = float(best[4])
print(f"seed_gen {seed:.0f}; telemetrygen best {tg:.0f} (--rate {best[0]}); seed_gen / telemetrygen = {seed/tg:.1f}x")
PY
