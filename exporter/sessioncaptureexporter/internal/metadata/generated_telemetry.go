// Hand-written in the shape mdatagen v0.165.0 generates from metadata.yaml
// (mdatagen is not available to this build): keep the two in step.

package metadata

import (
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter("github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter")
}

func Tracer(settings component.TelemetrySettings) trace.Tracer {
	return settings.TracerProvider.Tracer("github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter")
}

// TelemetryBuilder provides an interface for components to report telemetry
// as defined in metadata and user config.
type TelemetryBuilder struct {
	meter                                 metric.Meter
	mu                                    sync.Mutex
	registrations                         []metric.Registration
	ExporterSessionCaptureBytes           metric.Int64Counter
	ExporterSessionCaptureCompressedBytes metric.Int64Counter
	ExporterSessionCaptureDroppedItems    metric.Int64Counter
	ExporterSessionCaptureLostItems       metric.Int64Counter
	ExporterSessionCaptureObjects         metric.Int64Counter
	ExporterSessionCapturePausedItems     metric.Int64Counter
	ExporterSessionCaptureSessions        metric.Int64Counter
	ExporterSessionCaptureWriteErrors     metric.Int64Counter
}

// TelemetryBuilderOption applies changes to default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

type telemetryBuilderOptionFunc func(mb *TelemetryBuilder)

func (tbof telemetryBuilderOptionFunc) apply(mb *TelemetryBuilder) {
	tbof(mb)
}

// Shutdown unregister all registered callbacks for async instruments.
func (builder *TelemetryBuilder) Shutdown() {
	builder.mu.Lock()
	defer builder.mu.Unlock()
	for _, reg := range builder.registrations {
		reg.Unregister()
	}
}

// NewTelemetryBuilder provides a struct with methods to update all internal telemetry
// for a component
func NewTelemetryBuilder(settings component.TelemetrySettings, options ...TelemetryBuilderOption) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{}
	for _, op := range options {
		op.apply(&builder)
	}
	builder.meter = Meter(settings)
	var err, errs error
	builder.ExporterSessionCaptureBytes, err = builder.meter.Int64Counter(
		"otelcol_exporter_session_capture_bytes",
		metric.WithDescription("Uncompressed OTLP protobuf bytes written to the session store. [Alpha]"),
		metric.WithUnit("By"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterSessionCaptureCompressedBytes, err = builder.meter.Int64Counter(
		"otelcol_exporter_session_capture_compressed_bytes",
		metric.WithDescription("Stored (gzip) bytes written to the session store. [Alpha]"),
		metric.WithUnit("By"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterSessionCaptureObjects, err = builder.meter.Int64Counter(
		"otelcol_exporter_session_capture_objects",
		metric.WithDescription("Objects written to the session store (one per batch and session). [Alpha]"),
		metric.WithUnit("{object}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterSessionCaptureDroppedItems, err = builder.meter.Int64Counter(
		"otelcol_exporter_session_capture_dropped_items",
		metric.WithDescription("Accepted items dropped because the sending queue was full (backpressure: drop): the pipeline went on, the session says failed, with droppedItems. [Alpha]"),
		metric.WithUnit("{item}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterSessionCaptureLostItems, err = builder.meter.Int64Counter(
		"otelcol_exporter_session_capture_lost_items",
		metric.WithDescription("Accepted items that could not be stored: the store refused them for good or the retries gave up (the session says failed, with lostItems). [Alpha]"),
		metric.WithUnit("{item}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterSessionCapturePausedItems, err = builder.meter.Int64Counter(
		"otelcol_exporter_session_capture_paused_items",
		metric.WithDescription("Items dropped because the capture was paused through the control API. [Alpha]"),
		metric.WithUnit("{item}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterSessionCaptureSessions, err = builder.meter.Int64Counter(
		"otelcol_exporter_session_capture_sessions",
		metric.WithDescription("Sessions opened, by reason (start, max_duration, max_bytes, attribute, control). [Alpha]"),
		metric.WithUnit("{session}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterSessionCaptureWriteErrors, err = builder.meter.Int64Counter(
		"otelcol_exporter_session_capture_write_errors",
		metric.WithDescription("Failed object writes; `permanent` tells whether a retry can help. [Alpha]"),
		metric.WithUnit("{error}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
