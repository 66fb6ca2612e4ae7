# The otelcol-recordreplay container image: a drop-in collector image, as
# otel/opentelemetry-collector-contrib is, built FROM scratch so that no base
# image has to be pulled. It holds the static binaries `make build` made
# (CGO_ENABLED=0), a CA bundle (S3 over TLS) and the configs, nothing else.
#
#   make image        stages the CA bundle, checks the binaries are static, and
#                     builds this file with podman or docker:
#                     otelcol-recordreplay:<git describe> and otelcol-recordreplay:dev
#   make image-test   runs the image for real (see scripts/image-test.sh)
#
# By hand: make build && scripts/image.sh build
FROM scratch

ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="otelcol-recordreplay" \
      org.opencontainers.image.description="OpenTelemetry Collector distribution for OTLP record, seed and replay" \
      org.opencontainers.image.source="https://github.com/recordreplay/otelcol-recordreplay" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# Go's crypto/x509 reads this path first on Linux.
COPY build/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/otelcol-recordreplay bin/sessionctl build/image/imagestart /
# The default config (capture into /data); the tap (forward to
# FORWARD_ENDPOINT and record a copy), the default when FORWARD_ENDPOINT is
# set; its scrubbing, sampling variant; and the replay and seed configs to run
# with `--config /etc/otelcol-recordreplay/replay.yaml` (or seed.yaml, ...).
# All of them take their settings from the environment.
COPY configs/container.yaml /etc/otelcol-recordreplay/config.yaml
COPY configs/tap.yaml configs/tap-scrubbed.yaml configs/replay.yaml configs/seed.yaml /etc/otelcol-recordreplay/
# The session store: an empty directory owned by the collector's user, so a
# fresh named volume is writable too. The working directory is /, so the
# configs' and sessionctl's default ./data is this volume.
COPY --chown=10001:10001 build/image/data /data

USER 10001:10001
WORKDIR /
# OTLP gRPC, OTLP HTTP, health check, Prometheus metrics of the collector itself
EXPOSE 4317 4318 13133 8888
VOLUME /data
# imagestart (cmd/imagestart) execs /otelcol-recordreplay with the container's
# command, or without one with --config /etc/otelcol-recordreplay/config.yaml,
# tap.yaml when FORWARD_ENDPOINT is set.
ENTRYPOINT ["/imagestart"]
