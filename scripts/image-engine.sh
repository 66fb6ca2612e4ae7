#!/usr/bin/env bash
# What scripts/image.sh and scripts/image-test.sh share (sourced by both, from the
# repository root): the image's name and version, its staging directory, and the
# container engine.
# CONTAINER_ENGINE=podman|docker picks the engine; by default podman, else a
# docker whose engine answers. With neither, it says how to get one and exits 2.

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
