package metadata // import "github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter/internal/metadata"

import (
	"errors"

	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the component's meter.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the component's own instruments, as listed under
// telemetry in metadata.yaml. Every instrument carries a `signal` attribute.
type TelemetryBuilder struct {
	ExporterSessionCaptureObjects         metric.Int64Counter
	ExporterSessionCaptureItems           metric.Int64Counter
	ExporterSessionCaptureBytes           metric.Int64Counter
	ExporterSessionCaptureCompressedBytes metric.Int64Counter
	ExporterSessionCaptureWriteErrors     metric.Int64Counter
	ExporterSessionCaptureSessions        metric.Int64Counter
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	m := Meter(settings)
	b := &TelemetryBuilder{}
	var err, errs error
	b.ExporterSessionCaptureObjects, err = m.Int64Counter("otelcol_exporter_session_capture_objects",
		metric.WithDescription("Objects (batches) written to the session store."), metric.WithUnit("{object}"))
	errs = errors.Join(errs, err)
	b.ExporterSessionCaptureItems, err = m.Int64Counter("otelcol_exporter_session_capture_items",
		metric.WithDescription("Spans, data points or log records written to the session store."), metric.WithUnit("{item}"))
	errs = errors.Join(errs, err)
	b.ExporterSessionCaptureBytes, err = m.Int64Counter("otelcol_exporter_session_capture_bytes",
		metric.WithDescription("Uncompressed OTLP protobuf bytes written to the session store."), metric.WithUnit("By"))
	errs = errors.Join(errs, err)
	b.ExporterSessionCaptureCompressedBytes, err = m.Int64Counter("otelcol_exporter_session_capture_compressed_bytes",
		metric.WithDescription("Stored (gzip) bytes written to the session store."), metric.WithUnit("By"))
	errs = errors.Join(errs, err)
	b.ExporterSessionCaptureWriteErrors, err = m.Int64Counter("otelcol_exporter_session_capture_write_errors",
		metric.WithDescription("Failed object writes; `permanent` tells whether a retry can help."), metric.WithUnit("{error}"))
	errs = errors.Join(errs, err)
	b.ExporterSessionCaptureSessions, err = m.Int64Counter("otelcol_exporter_session_capture_sessions",
		metric.WithDescription("Sessions opened, by reason (start, rotation, attribute)."), metric.WithUnit("{session}"))
	errs = errors.Join(errs, err)
	return b, errs
}
