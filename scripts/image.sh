#!/usr/bin/env bash
# Builds and tests the container image (Dockerfile) with podman or docker.
#   scripts/image.sh build   stage build/image/, check the binaries are static, build
#                            otelcol-recordreplay:<git describe> and :dev   (make image)
#   scripts/image.sh test    run the image for real: e2e TestImage          (make image-test)
# CONTAINER_ENGINE=podman|docker picks the engine; by default podman, else a
# docker whose engine answers. With neither, it says how to get one and exits 2.
#
# Podman on some machines cannot start containers with its defaults: crun
# fails with "cgroups in hybrid mode not supported", or setting the default
# rlimits is refused ("setrlimit ... operation not permitted"). `test` tries
# the defaults first, then runc with cgroupfs and a containers.conf without
# default ulimits; and it publishes ports if the machine's container network
# works, else it runs the collectors on the host network. What it chose is
# printed, and passed to the test as CONTAINER_CMD / CONTAINER_NET.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=otelcol-recordreplay
VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_BUILD_DIR=build/image

engine() {
	if [[ -n ${CONTAINER_ENGINE:-} ]]; then
		command -v "$CONTAINER_ENGINE" >/dev/null || { echo "CONTAINER_ENGINE=$CONTAINER_ENGINE: not found" >&2; exit 2; }
		echo "$CONTAINER_ENGINE"
		return
	fi
	if command -v podman >/dev/null; then
		echo podman
		return
	fi
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
		echo docker
		return
	fi
	{
		if command -v docker >/dev/null; then
			echo "docker is installed but no Docker engine answers (docker info failed)."
		else
			echo "Neither podman nor docker is installed."
		fi
		echo "Building and running the image needs one of them. On Debian or Ubuntu:"
		echo "    sudo apt-get install podman runc"
		echo "(or install Docker Engine: https://docs.docker.com/engine/install/), then run make image again."
	} >&2
	exit 2
}

# static BIN: refuses a binary that is not statically linked (the image has no libc).
static() {
	local bin=$1
	[[ -x $bin ]] || { echo "$bin is missing: run make build" >&2; exit 1; }
	if ! go version -m "$bin" | grep -q 'CGO_ENABLED=0'; then
		echo "$bin was not built with CGO_ENABLED=0; the image has no libc (go version -m says:)" >&2
		go version -m "$bin" | grep -E 'CGO|build' >&2 || true
		exit 1
	fi
	if command -v file >/dev/null && ! file "$bin" | grep -q 'statically linked'; then
		echo "$bin is not statically linked: $(file "$bin")" >&2
		exit 1
	fi
}

ca_bundle() {
	local f
	if [[ -n ${CA_BUNDLE:-} ]]; then
		[[ -s $CA_BUNDLE ]] || { echo "CA_BUNDLE=$CA_BUNDLE: no such file (or empty)" >&2; exit 1; }
		echo "$CA_BUNDLE"
		return
	fi
	for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
		if [[ -s $f ]]; then
			echo "$f"
			return
		fi
	done
	echo "no CA bundle found (install ca-certificates, or set CA_BUNDLE=FILE)" >&2
	exit 1
}

build() {
	local eng
	eng=$(engine)
	static bin/otelcol-recordreplay
	static bin/sessionctl
	rm -rf "$IMAGE_BUILD_DIR"
	mkdir -p "$IMAGE_BUILD_DIR/data"
	# the entrypoint: the default config, or the tap when FORWARD_ENDPOINT is set
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$IMAGE_BUILD_DIR/imagestart" ./cmd/imagestart
	static "$IMAGE_BUILD_DIR/imagestart"
	local bundle
	bundle=$(ca_bundle) || exit 1
	cp "$bundle" "$IMAGE_BUILD_DIR/ca-certificates.crt"
	"$eng" build -f Dockerfile \
		--build-arg VERSION="$VERSION" --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
		-t "$NAME:$VERSION" -t "$NAME:dev" .
	local size
	size=$("$eng" image inspect --format '{{.Size}}' "$NAME:dev")
	echo "built $NAME:$VERSION and $NAME:dev with $eng: $((size / 1000000)) MB ($size bytes)"
}

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

case ${1:-} in
build) build ;;
test) test_image ;;
*)
	echo "usage: $0 build|test" >&2
	exit 2
	;;
esac
