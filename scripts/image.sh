#!/usr/bin/env bash
# Builds and tests the container image (Dockerfile) with podman or docker.
#   scripts/image.sh build   stage build/image/, check the binaries are static, build
#                            otelcol-recordreplay:<git describe> and :dev   (make image)
#   scripts/image.sh test    run the image for real: e2e TestImage          (make image-test;
#                            scripts/image-test.sh)
# CONTAINER_ENGINE=podman|docker picks the engine (scripts/image-engine.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/image-engine.sh
source scripts/image-engine.sh

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

case ${1:-} in
build) build ;;
test) exec bash scripts/image-test.sh ;;
*)
	echo "usage: $0 build|test" >&2
	exit 2
	;;
esac
