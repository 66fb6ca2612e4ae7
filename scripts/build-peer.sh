#!/usr/bin/env bash
# Builds the peer distribution bin/otelcol-peer (otlp receiver, batch processor, debug
# exporter, contrib fileexporter and awss3exporter; testbed/peer-builder-config.yaml) with the project's ocb
# (bin/builder, v0.165.0, installed by `make tools`). ocb writes its sources and binary into
# build-peer/otelcol-peer, a directory of its own (not the root build/ of `make build`).
set -euo pipefail
cd "$(dirname "$0")/.."
OCB=${OCB:-$PWD/bin/builder}
[ -x "$OCB" ] || { echo "build-peer: $OCB not found (run make tools)" >&2; exit 1; }
mkdir -p build-peer bin
"$OCB" --config testbed/peer-builder-config.yaml
# copy and rename: a collector running from bin/ keeps its (old) file
cp build-peer/otelcol-peer/otelcol-peer bin/otelcol-peer.tmp && mv -f bin/otelcol-peer.tmp bin/otelcol-peer
echo "built bin/otelcol-peer"
