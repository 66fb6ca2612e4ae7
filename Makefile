# otelcol-recordreplay: build, run and test the collector distribution.
#   make run    build bin/otelcol-recordreplay and run collector-config.yaml
#   make test   every test, with the tools it needs installed into bin/
SHELL := /bin/bash
.DEFAULT_GOAL := build

GO          ?= go
BIN         := $(CURDIR)/bin
OCB_VERSION := v0.165.0
VGW_VERSION := v1.8.0
BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da
OCB         := $(BIN)/builder
VERSITYGW   := $(BIN)/versitygw
BENCHSTAT   := $(BIN)/benchstat
OTELCOL     := $(BIN)/otelcol-recordreplay
SESSIONCTL  := $(BIN)/sessionctl
TELEMETRYGEN := $(BIN)/telemetrygen
DEVTOOLS    := $(BIN)/devtools
CONFIG      ?= collector-config.yaml
TEST_TIMEOUT ?= 30m
GO_TEST_FLAGS ?=
# Tests that call t.Parallel run four at a time, not one per core: the e2e
# tests mostly wait (on collectors, clocks, S3 outages), not compute; with
# two at a time on two cores the e2e package took 229 s, with four 133 s.
TEST_PARALLEL ?= 4

.PHONY: ui-test ui-screenshots all help build run replay replay-seed replay-heavy seed seed-quick seed-basic export-rss bench-seed bench-peers testbed soak test unit-test tools bench fuzz lint fmt clean image image-test dev-up dev-down validate

all: build

## help: these lines: the targets and their settings
help:
	@sed -n -e 's/^## \([a-z][a-z-]*: \)/\1/p' -e t -e 's/^## */    /p' $(firstword $(MAKEFILE_LIST))

$(OCB):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

$(VERSITYGW):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VGW_VERSION)

tools: $(OCB) $(VERSITYGW) $(BENCHSTAT)

# One build at a time in a tree: builds share build/ and the binaries'
# temporary names, and two at once (two e2e runs that both find the binary
# stale) broke each other. Where flock (util-linux) is missing, no lock.
FLOCK := $(shell command -v flock 2>/dev/null)
BUILD_LOCK = $(if $(and $(FLOCK),$(if $(BUILD_LOCKED),,y)),BUILD_LOCKED=1 $(FLOCK) $(BIN)/.build.lock)

## build: the collector distribution (from builder-config.yaml) and sessionctl, into bin/
build: $(OCB)
	@mkdir -p build $(BIN)
	@$(BUILD_LOCK) $(MAKE) --no-print-directory build-locked

.PHONY: build-locked
build-locked:
	$(OCB) --config builder-config.yaml
	@# copy and rename: a collector running from bin/ keeps its (old) file
	@cp build/otelcol-recordreplay/otelcol-recordreplay $(OTELCOL).tmp && mv -f $(OTELCOL).tmp $(OTELCOL)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(SESSIONCTL).tmp ./cmd/sessionctl && mv -f $(SESSIONCTL).tmp $(SESSIONCTL)
	@echo "built $(OTELCOL) and $(SESSIONCTL)"

# seconds gives a bare number its unit (the seed tooling's habit: DURATION=60
# is a minute, not 60 ns); a value with a unit (90s, 5m) stays as it is.
seconds = $(if $(shell echo '$(1)' | grep -Ex '[0-9]+([.][0-9]+)?'),$(1)s,$(1))

# The binaries as files: the targets that run them rebuild only when a source
# changed since (`make build` always rebuilds). Both are static (CGO_ENABLED=0).
GO_SOURCES := $(shell find cmd exporter extension receiver internal -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum builder-config.yaml
# Stale: wait for the lock, then ask again (a build that ran meanwhile made
# them fresh); under the lock, build.
$(OTELCOL) $(SESSIONCTL) &: $(GO_SOURCES)
	@mkdir -p build $(BIN)
	@$(if $(BUILD_LOCK),$(BUILD_LOCK) $(MAKE) --no-print-directory $(OTELCOL) $(SESSIONCTL),$(MAKE) --no-print-directory build-locked)

# bin/devtools (internal/cmd/devtools): the dev stack (dev-up, dev-down), bench-peers,
# bench-seed and the testbed's S3 server, built when a source changed; each build writes
# a temporary file of its own, so that two at once do not collide.
$(DEVTOOLS): $(GO_SOURCES)
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@.$$$$.tmp ./internal/cmd/devtools && mv -f $@.$$$$.tmp $@

.PHONY: devtools
devtools: $(DEVTOOLS)

## run: build, then run the default config (OTLP on 127.0.0.1:4317/4318 into ./data)
run: $(OTELCOL)
	$(OTELCOL) --config $(CONFIG)

# Replay settings (see configs/replay.yaml); e.g. make replay SESSION=<id> SPEED=4
#   DURATION      the replay's max_duration (default: none; a bare number is seconds; the seed targets' DURATION is separate)
#   SIGNALS       traces,metrics,logs (default: all)   SERVICES  svc-a,svc-b (default: all)
#   SESSION_TYPE  capture | seed | training (SESSION=auto only; default: any)
#   SESSIONS      id,id,...: several sessions replayed as one timeline (an incident window)
#   FROM, TO      time_range: RFC 3339 times or offsets from the first event (5m); SELECTION=window
#                 replays every session that was capturing from FROM to TO
#   COPIES        N copies at once, each with its own trace ids and service.instance.id (default 1)
# The target (none: the debug exporter):
#   REPLAY_ENDPOINT     http://host:4318 (OTLP/HTTP, the default) or host:4317 with REPLAY_PROTOCOL=grpc
#   REPLAY_PROTOCOL     http (default) | grpc
#   REPLAY_HEADERS      name=value pairs separated by commas ('authorization=Bearer x,x-scope-orgid=team-a'),
#                       or a YAML map ('{authorization: "Bearer x"}'); scripts/replay.sh hands the config the map
#   REPLAY_INSECURE     true: plain-text gRPC (default false; OTLP/HTTP follows the URL's scheme)
#   REPLAY_CA_FILE      CA bundle for the target's certificate (default: the system's)
#   REPLAY_COMPRESSION  gzip (default), zstd, snappy, none; over OTLP/HTTP also zlib, deflate, lz4
#   REPLAY_ENVIRONMENT  deployment.environment.name set on every replayed resource (default: as recorded)
#   REPLAY_EXTRA_CONFIG a config file merged over configs/replay.yaml, e.g. configs/replay-rewrites.yaml
# These go to the collector through the environment as they are (configs/replay.yaml reads them).
SESSION    ?= auto
SELECTION  ?= latest
SPEED      ?= 1
LOOPS      ?= 1
TIMESTAMPS ?= current
SIGNALS    ?=
SERVICES   ?=
SESSION_TYPE ?=
SESSIONS   ?=
FROM       ?=
TO         ?=
COPIES     ?= 1
REPLAY_ENDPOINT ?=
REPLAY_PROTOCOL ?=
REPLAY_EXTRA_CONFIG ?=
REPLAY_REGENERATE_IDS ?= false
# DURATION given on the command line or in the environment (not the seed default below)
REPLAY_DURATION = $(if $(filter file undefined,$(origin DURATION)),0s,$(call seconds,$(DURATION)))
REPLAY_PROTO = $(or $(REPLAY_PROTOCOL),http)
REPLAY_ENV = REPLAY_SHUTDOWN_WHEN_DONE=$(if $(and $(filter 0,$(LOOPS)),$(filter 0s,$(REPLAY_DURATION))),false,true) \
	REPLAY_MAX_DURATION=$(REPLAY_DURATION) REPLAY_SIGNALS='[$(SIGNALS)]' REPLAY_SERVICES='[$(SERVICES)]' \
	REPLAY_SESSION_TYPE=$(SESSION_TYPE) REPLAY_SESSIONS='[$(SESSIONS)]' REPLAY_COPIES=$(COPIES) \
	REPLAY_FROM='$(FROM)' REPLAY_TO='$(TO)' \
	REPLAY_REGENERATE_IDS=$(REPLAY_REGENERATE_IDS) REPLAY_SESSION=$(SESSION) REPLAY_SELECTION=$(SELECTION) REPLAY_SPEED=$(SPEED) \
	REPLAY_LOOPS=$(LOOPS) REPLAY_TIMESTAMPS=$(TIMESTAMPS) \
	REPLAY_EXPORTER=$(if $(REPLAY_ENDPOINT),otlp_$(REPLAY_PROTO),debug) $(if $(REPLAY_ENDPOINT),REPLAY_ENDPOINT=$(REPLAY_ENDPOINT))
# A bad protocol, or a bare host for OTLP/HTTP, stops make before anything runs.
ifneq ($(filter replay replay-seed replay-heavy,$(MAKECMDGOALS)),)
ifneq ($(filter-out grpc http,$(REPLAY_PROTO))$(word 2,$(REPLAY_PROTO)),)
$(error REPLAY_PROTOCOL=$(REPLAY_PROTOCOL): want grpc or http)
endif
ifeq ($(REPLAY_PROTO),http)
ifneq ($(REPLAY_ENDPOINT),)
ifeq ($(findstring ://,$(REPLAY_ENDPOINT)),)
$(error REPLAY_ENDPOINT=$(REPLAY_ENDPOINT): OTLP/HTTP needs a URL (http://$(REPLAY_ENDPOINT)); for OTLP/gRPC to host:port set REPLAY_PROTOCOL=grpc)
endif
endif
endif
endif

## replay: replay the latest completed session at 1x with current timestamps, to the debug
## exporter, or to REPLAY_ENDPOINT: OTLP/HTTP (a URL), or OTLP/gRPC (host:port) with
## REPLAY_PROTOCOL=grpc; REPLAY_HEADERS='authorization=Bearer x,…', REPLAY_INSECURE=true
## (plain-text gRPC), REPLAY_CA_FILE, REPLAY_COMPRESSION (gzip); REPLAY_ENVIRONMENT=staging
## sets deployment.environment.name on every resource; REPLAY_EXTRA_CONFIG=file is merged
## over configs/replay.yaml (configs/replay-rewrites.yaml: rewrites). Stops when the replay is over
## (LOOPS=0: at Ctrl-C); exits 1 when the exporter dropped data the target did not take
replay: $(OTELCOL)
	$(REPLAY_ENV) scripts/replay.sh $(OTELCOL) --config configs/replay.yaml $(if $(REPLAY_EXTRA_CONFIG),--config $(REPLAY_EXTRA_CONFIG))

## replay-seed: the latest completed seed session (make replay SESSION_TYPE=seed), e.g.
##   make replay-seed DURATION=60s REPLAY_ENDPOINT=http://staging-collector:4318
replay-seed: $(OTELCOL)
	$(MAKE) --no-print-directory replay SESSION_TYPE=seed

## replay-heavy: the largest session at 2x, looping until stopped, with fresh trace ids per pass
replay-heavy: $(OTELCOL)
	$(MAKE) --no-print-directory replay SELECTION=largest SPEED=2 LOOPS=0 TIMESTAMPS=relative REPLAY_REGENERATE_IDS=true

# Seed settings (see configs/seed.yaml); e.g.
#   make seed PATTERN=payment-failure DURATION=30s DESCRIPTION="checkout outage drill"
PATTERN     ?= basic-topology
SCENARIO    ?=
DURATION    ?= 30s
RATE        ?= 10
ERROR_RATE  ?= 0.05
SEED        ?= 1
DESCRIPTION ?=
CLOCK       ?= realtime
STORE       ?= filesystem
SEED_ENV = SEED_PATTERN=$(PATTERN) SEED_SCENARIO_FILE=$(SCENARIO) SEED_DURATION=$(call seconds,$(DURATION)) \
	SEED_RATE=$(RATE) SEED_ERROR_RATE=$(ERROR_RATE) SEED_SEED=$(SEED) SEED_DESCRIPTION="$(DESCRIPTION)" \
	SEED_CLOCK=$(CLOCK) STORE=$(STORE)

## seed: generate PATTERN (or SCENARIO=file.yaml) for DURATION and capture it as a seed
## session (filesystem ./data, or STORE=s3); stops when the pattern ends
seed: $(OTELCOL)
	$(SEED_ENV) scripts/run-until.sh "Seed finished" $(OTELCOL) --config configs/seed.yaml

## seed-quick: 10 s of basic-topology
seed-quick:
	$(MAKE) --no-print-directory seed DURATION=10s

## seed-basic: 30 s of basic-topology at 5 traces/s
seed-basic:
	$(MAKE) --no-print-directory seed DURATION=30s RATE=5

## test: unit, integration (real S3 server) and end-to-end tests of the built binary.
## Packages run in parallel: tests whose subject is time run on testing/synctest's
## virtual clock, so a loaded machine cannot fail them; the one real-clock precision
## tests (TestPacingRealTime, TestBadObjectLatenessRealTime) run under `make bench`, alone.
test: tools build $(DEVTOOLS)
	RECORDREPLAY_REQUIRE_S3=1 RECORDREPLAY_REQUIRE_OTELCOL=1 OTELCOL_BIN=$(OTELCOL) VERSITYGW=$(VERSITYGW) \
		$(GO) test -timeout $(TEST_TIMEOUT) -count=1 -parallel $(TEST_PARALLEL) $(GO_TEST_FLAGS) ./...
	@# deploy/kubernetes is a module of its own (k8s.io/api, kustomize): its manifests,
	@# and the configs they mount validated by the built binary
	cd deploy/kubernetes && OTELCOL_BIN=$(OTELCOL) SESSIONCTL_BIN=$(SESSIONCTL) RECORDREPLAY_REQUIRE_OTELCOL=1 \
		$(GO) test -timeout $(TEST_TIMEOUT) -count=1 $(GO_TEST_FLAGS) ./...

## validate: the validation workflow: seed payment-failure (fast clock), capture it, replay it at 4x
## with current timestamps into a collector capturing again, sessionctl diff --shifted the two
## sessions (exit 0 when equal), print the seed's phase table (scripts/validate.sh)
validate: $(OTELCOL) $(SESSIONCTL)
	bash scripts/validate.sh

## image: the container image (Dockerfile, FROM scratch: the static binaries, a CA bundle and
## configs/container.yaml), tagged otelcol-recordreplay:<git describe> and :dev, with podman or docker
image: $(OTELCOL) $(SESSIONCTL)
	bash scripts/image.sh build

## image-test: run the image for real (capture over OTLP from the host, health, SIGTERM, replay
## into a second container); needs podman or docker, never part of make test
image-test: image
	bash scripts/image.sh test

## dev-up: the S3 server (versitygw, loopback) with a bucket and a collector capturing into it, in the
## background, under .dev/; prints the endpoints and the lines to use them. dev-down stops both.
dev-up: $(OTELCOL) $(SESSIONCTL) $(VERSITYGW) $(DEVTOOLS)
	$(DEVTOOLS) up

dev-down: $(DEVTOOLS)
	$(DEVTOOLS) down

## ui-test: the session browser (/ui/ of session_control) driven in a real headless Chromium against the
## built binary (e2e TestSessionBrowser); skipped, saying so, without Chromium (Debian: apt-get install chromium)
ui-test: build
	RECORDREPLAY_REQUIRE_OTELCOL=1 OTELCOL_BIN=$(OTELCOL) $(GO) test -count=1 -v -run 'TestSessionBrowser' ./e2e/ | grep -E '^(=== RUN|--- |\s+ui_test|ok|FAIL|PASS)'

## ui-screenshots: ui-test, writing the README's screenshots docs/ui-sessions.png and docs/ui-session.png
ui-screenshots: build
	@mkdir -p docs
	UI_SCREENSHOTS=$(CURDIR)/docs RECORDREPLAY_REQUIRE_CHROMIUM=1 RECORDREPLAY_REQUIRE_OTELCOL=1 OTELCOL_BIN=$(OTELCOL) \
		$(GO) test -count=1 -run 'TestSessionBrowser' ./e2e/

## unit-test: the fast tests only (no S3 server, no binary)
unit-test:
	$(GO) test -short -count=1 ./...
	cd deploy/kubernetes && $(GO) test -short -count=1 ./...

$(TELEMETRYGEN):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0

## bench-seed: seed_gen (clock fast) spans/s and spans per CPU-second next to telemetrygen v0.161.0
bench-seed: build $(TELEMETRYGEN) $(DEVTOOLS)
	$(DEVTOOLS) bench-seed

## bench-peers: the same telemetrygen load into the peer distribution (debug, contrib fileexporter
## and awss3exporter) and ours (debug, session_capture on the filesystem and the S3 server), in rounds
## until the medians' spread is under 10 % (MIN_ROUNDS 5, MAX_ROUNDS 15); rewrites its BENCHMARKS.md section
bench-peers: build $(OCB) $(TELEMETRYGEN) $(VERSITYGW) $(DEVTOOLS)
	bash scripts/build-peer.sh
	$(DEVTOOLS) bench-peers

## testbed: the collector testbed's load scenarios 1-4 and 6 (the tap's cost) on the built binary (testbed/, its own module;
## minutes; not part of make test)
testbed: build $(VERSITYGW) $(DEVTOOLS)
	bash scripts/testbed.sh

## soak: testbed scenario 5, ten minutes of capture with rotation every minute
soak: build
	bash scripts/soak.sh

$(BENCHSTAT):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

## bench: capture write path and replay throughput next to their bounds, replay pacing
## (see BENCHMARKS.md). Rounds are interleaved (-count 1, six times) so that the
## machine's drift hits every benchmark alike; compare ratios within a round. Replay
## runs on one core and on two (-cpu 1,2): items/s per core, for sizing a replay Job.
BENCH_ROUNDS ?= 6
bench: $(BENCHSTAT) $(OTELCOL)
	rm -f bench-capture.out bench-replay.out
	for i in $$(seq $(BENCH_ROUNDS)); do \
		$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./exporter/sessioncaptureexporter/ >> bench-capture.out || exit 1; \
		$(GO) test -run '^$$' -bench . -benchtime 5x -cpu 1,2 -count 1 ./receiver/sessionreplayreceiver/ >> bench-replay.out || exit 1; \
	done
	set -o pipefail; RECORDREPLAY_STRICT_PACING=1 $(GO) test -count=1 -v -run 'TestPacingRealTime|TestBadObjectLatenessRealTime' ./receiver/sessionreplayreceiver/ | grep -E 'speed|bad objects|PASS|FAIL' | tee bench-pacing.out
	@# a window over three rotated sessions, replayed as one timeline by the built binary: lateness p99 <= 10 ms
	set -o pipefail; RECORDREPLAY_STRICT_PACING=1 RECORDREPLAY_REQUIRE_OTELCOL=1 OTELCOL_BIN=$(OTELCOL) $(GO) test -count=1 -v -run 'TestIncidentWindowAcrossRotatedSessions' ./e2e/ | grep -E 'lateness|PASS|FAIL' | tee -a bench-pacing.out
	$(BENCHSTAT) bench-capture.out bench-replay.out
	@echo "per-round ratios against the bound:"
	@bash scripts/bench-ratios.sh bench-capture.out BenchmarkBareMarshalGzip/klauspost spans/s
	@echo "per-round CPU per span of the bound over each benchmark's (the same, without the waits for the disk):"
	@bash scripts/bench-ratios.sh bench-capture.out BenchmarkBareMarshalGzip/klauspost cpu-ns/span cost
	@bash scripts/bench-ratios.sh bench-replay.out BenchmarkReplayThroughput/bare_gunzip_unmarshal items/s

## export-rss: sessionctl export --format parquet of a 1 GiB session (incompressible, written
## into a temporary directory) under 200 MiB peak RSS, next to sessionctl cat of it (see
## BENCHMARKS.md); minutes and a GiB of disk, so not part of make test
export-rss: $(SESSIONCTL)
	RECORDREPLAY_EXPORT_RSS=1 SESSIONCTL_BIN=$(SESSIONCTL) $(GO) test -count=1 -v -timeout 30m -run '^TestExportRSS$$' ./cmd/sessionctl/

## fuzz: each fuzz target for FUZZ_TIME (make test runs their seed corpora);
## a failing input is saved under the package's testdata/fuzz/ to become a test
FUZZ_TIME ?= 30s
FUZZ_TARGETS := FuzzDecode FuzzParseObjectKey FuzzValidateSessionID FuzzMergeWriters
# the capture accounting model: each input is a seed of a whole run (seconds each)
FUZZ_MODEL_TIME ?= 2m
fuzz:
	for t in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZ_TIME) ./internal/sessionstore/ || exit 1; \
	done
	$(GO) test -run '^$$' -fuzz '^FuzzAccounting$$' -fuzztime $(FUZZ_MODEL_TIME) -parallel 2 ./exporter/sessioncaptureexporter/

lint:
	$(GO) vet ./...
	cd deploy/kubernetes && $(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf build build-peer $(OTELCOL) $(SESSIONCTL) $(DEVTOOLS) $(BIN)/otelcol-peer
