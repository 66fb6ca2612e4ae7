#!/usr/bin/env bash
# make image-test (scripts/image.sh test): runs the image built by make image for
# real, e2e TestImage (capture over OTLP from the host, health, SIGTERM, replay into
# a second container).
#
# Podman on some machines cannot start containers with its defaults: crun
# fails with "cgroups in hybrid mode not supported", or setting the default
# rlimits is refused ("setrlimit ... operation not permitted"). This tries
# the defaults first, then runc with cgroupfs and a containers.conf without
# default ulimits; and it publishes ports if the machine's container network
# works, else it runs the collectors on the host network. What it chose is
# printed, and passed to the test as CONTAINER_CMD / CONTAINER_NET.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/image-engine.sh
source scripts/image-engine.sh

# run_cmd ENGINE: the command line that runs containers on this machine.
# Where podman needs the containers.conf without default ulimits, the line
# starts with `env CONTAINERS_CONF=…` so that it works as one command.
run_cmd() {
	local eng=$1
	: >"$IMAGE_BUILD_DIR/probe.log"
	if "$eng" run --rm "$NAME:dev" --version >/dev/null 2>>"$IMAGE_BUILD_DIR/probe.log"; then
		echo "$eng"
		return
	fi
	if [[ $eng != podman ]]; then
		echo "$eng cannot run the image:" >&2
		cat "$IMAGE_BUILD_DIR/probe.log" >&2
		exit 1
	fi
	printf '[containers]\ndefault_ulimits = []\n' >"$IMAGE_BUILD_DIR/containers.conf"
	local flags
	for flags in "" "--runtime runc --cgroup-manager=cgroupfs"; do
		# shellcheck disable=SC2086
		if CONTAINERS_CONF=$PWD/$IMAGE_BUILD_DIR/containers.conf podman $flags run --rm "$NAME:dev" --version \
			>/dev/null 2>>"$IMAGE_BUILD_DIR/probe.log"; then
			echo "env CONTAINERS_CONF=$PWD/$IMAGE_BUILD_DIR/containers.conf podman${flags:+ $flags}"
			return
		fi
	done
	echo "podman cannot run the image, neither with its defaults nor without default ulimits, nor with runc and cgroupfs:" >&2
	cat "$IMAGE_BUILD_DIR/probe.log" >&2
	exit 1
}

# net_mode CMD: "bridge" if a published port answers from the host, else "host".
net_mode() {
	local cmd=$1 port name=rr-netprobe-$$ mode=host
	port=$(( (RANDOM % 2000) + 28000 ))
	# shellcheck disable=SC2086
	if $cmd run -d --rm --name "$name" -p "127.0.0.1:$port:13133" "$NAME:dev" >/dev/null 2>>"$IMAGE_BUILD_DIR/probe.log"; then
		for _ in $(seq 100); do
			if curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
				mode=bridge
				break
			fi
			sleep 0.2
		done
		# shellcheck disable=SC2086
		$cmd rm -f "$name" >/dev/null 2>&1 || true
	fi
	echo "$mode"
}

test_image() {
	local eng cmd net
	eng=$(engine)
	[[ -f $IMAGE_BUILD_DIR/ca-certificates.crt ]] || { echo "build the image first: make image" >&2; exit 1; }
	cmd=$(run_cmd "$eng")
	net=$(net_mode "$cmd")
	echo "running containers with: $cmd run ($net network)"
	RECORDREPLAY_IMAGE="$NAME:dev" CONTAINER_CMD="$cmd" CONTAINER_NET="$net" \
		go test -count=1 -timeout 15m -v -run '^TestImage' ./e2e/
}

test_image
