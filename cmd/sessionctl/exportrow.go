package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// opt is a column value that may be absent (null).
type opt[T any] struct {
	V  T
	OK bool
}

func some[T any](v T) opt[T] { return opt[T]{V: v, OK: true} }

// MarshalJSON writes null for an absent value, and for a float that JSON
// cannot hold (NaN, ±Inf).
func (o opt[T]) MarshalJSON() ([]byte, error) {
	if !o.OK {
		return []byte("null"), nil
	}
	if f, ok := any(o.V).(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return []byte("null"), nil
	}
	return json.Marshal(o.V)
}

// exportRow is one row of an export: a span, a metric data point or a log
// record, with the session's identity and the ground truth of the item.
// The JSON names are the column names of both formats.
type exportRow struct {
	SessionID    string       `json:"session_id"`
	SessionType  string       `json:"session_type"`
	Signal       string       `json:"signal"`
	ServiceName  opt[string]  `json:"service_name"`
	Name         string       `json:"name"`           // span name, metric name, log body as a string
	TraceID      string       `json:"trace_id"`       // hex; "" where absent
	SpanID       string       `json:"span_id"`        // hex; "" where absent
	ParentSpanID string       `json:"parent_span_id"` // hex; "" where absent
	Time         int64        `json:"time_unix_nano"` // span start, point time, log time
	EndTime      opt[int64]   `json:"end_time_unix_nano"`
	Duration     opt[int64]   `json:"duration_nanos"`
	SpanKind     opt[string]  `json:"span_kind"`
	StatusCode   opt[string]  `json:"status_code"`
	MetricType   opt[string]  `json:"metric_type"`
	Value        opt[float64] `json:"value"` // number points
	Count        opt[int64]   `json:"count"` // histogram, exponential histogram, summary
	Sum          opt[float64] `json:"sum"`
	SeverityText opt[string]  `json:"severity_text"`
	SeverityNum  opt[int64]   `json:"severity_number"`
	PhaseName    opt[string]  `json:"phase_name"`
	PhaseIndex   opt[int64]   `json:"phase_index"`
	FaultName    opt[string]  `json:"fault_name"`
	FaultRoot    opt[bool]    `json:"fault_root_cause"`
	// Flags are the item's phase flags (test.phase.flag.<name>), by name.
	Flags map[string]float64 `json:"-"`
}

// Column name prefixes of the flag and label columns.
const (
	flagColumn  = "flag_"
	labelColumn = "label_"
)

// rowMaker turns the items of a batch into rows, reusing one row: a
// row handed to emit is valid until emit returns.
type rowMaker struct {
	row    exportRow
	emit   func(*exportRow) error
	phases []sessionstore.AnnotatedPhase // annotated: see annotated
}

// annotated gives the rows whose item has no phase of its own the
// annotated phase whose range of event time holds the row's time.
func (m *rowMaker) annotated(phases []sessionstore.AnnotatedPhase) { m.phases = phases }

func newRowMaker(sessionID string, typ sessionstore.SessionType, emit func(*exportRow) error) *rowMaker {
	return &rowMaker{row: exportRow{SessionID: sessionID, SessionType: string(typ), Flags: map[string]float64{}}, emit: emit}
}

// start resets the row for an item of signal in resource res, with the
// item's attributes attrs.
func (m *rowMaker) start(signal sessionstore.Signal, res, attrs pcommon.Map) *exportRow {
	r := &m.row
	flags := r.Flags
	clear(flags)
	*r = exportRow{SessionID: r.SessionID, SessionType: r.SessionType, Signal: string(signal), Flags: flags}
	if v, ok := res.Get("service.name"); ok {
		r.ServiceName = some(v.AsString())
	}
	if v, ok := attr(attrs, res, sessionstore.AttrPhaseName); ok {
		r.PhaseName = some(v.AsString())
	}
	if v, ok := attr(attrs, res, sessionstore.AttrPhaseIndex); ok {
		r.PhaseIndex = intOf(v)
	}
	if v, ok := attr(attrs, res, sessionstore.AttrFaultName); ok {
		r.FaultName = some(v.AsString())
	}
	if v, ok := attr(attrs, res, sessionstore.AttrFaultRoot); ok {
		r.FaultRoot = boolOf(v)
	}
	// The resource's flags, then the item's over them.
	for _, a := range []pcommon.Map{res, attrs} {
		for k, v := range a.All() {
			if name, ok := strings.CutPrefix(k, sessionstore.AttrPhaseFlag); ok && name != "" {
				if f := floatOf(v); f.OK {
					flags[name] = f.V
				}
			}
		}
	}
	return r
}

// attr is the item's attribute key, else its resource's.
func attr(item, res pcommon.Map, key string) (pcommon.Value, bool) {
	if v, ok := item.Get(key); ok {
		return v, true
	}
	return res.Get(key)
}

func intOf(v pcommon.Value) opt[int64] {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return some(v.Int())
	case pcommon.ValueTypeDouble:
		return some(int64(v.Double()))
	case pcommon.ValueTypeStr:
		if n, err := strconv.ParseInt(v.Str(), 10, 64); err == nil {
			return some(n)
		}
	}
	return opt[int64]{}
}

func floatOf(v pcommon.Value) opt[float64] {
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return some(v.Double())
	case pcommon.ValueTypeInt:
		return some(float64(v.Int()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return some(1.0)
		}
		return some(0.0)
	case pcommon.ValueTypeStr:
		if f, err := strconv.ParseFloat(v.Str(), 64); err == nil {
			return some(f)
		}
	}
	return opt[float64]{}
}

func boolOf(v pcommon.Value) opt[bool] {
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return some(v.Bool())
	case pcommon.ValueTypeStr:
		if b, err := strconv.ParseBool(v.Str()); err == nil {
			return some(b)
		}
	}
	return opt[bool]{}
}

// batch emits a row per item of b, in order, and returns the rows emitted
// (the first error of emit ends it).
func (m *rowMaker) batch(b sessionstore.Batch) (int64, error) {
	var n int64
	var err error
	emit := func(r *exportRow) bool {
		if !r.PhaseName.OK {
			at := time.Unix(0, r.Time)
			for _, p := range m.phases {
				if !at.Before(p.Start) && at.Before(p.End) {
					r.PhaseName = some(p.Name)
					break
				}
			}
		}
		if err = m.emit(r); err != nil {
			return false
		}
		n++
		return true
	}
	switch b.Signal {
	case sessionstore.SignalTraces:
		for at, sp := range pdatawalk.Spans(b.Traces) {
			if !emit(m.span(at.Resource, sp)) {
				return n, err
			}
		}
	case sessionstore.SignalMetrics:
		for at, metric := range pdatawalk.Metrics(b.Metrics) {
			ok := true
			point := func(attrs pcommon.Map, ts pcommon.Timestamp, fill func(*exportRow)) {
				if !ok {
					return
				}
				r := m.start(sessionstore.SignalMetrics, at.Resource.Attributes(), attrs)
				r.Name, r.Time = metric.Name(), int64(ts)
				r.MetricType = some(metric.Type().String())
				fill(r)
				ok = emit(r)
			}
			pdatawalk.VisitPoints(metric, pdatawalk.PointVisitor{
				Number: func(p pmetric.NumberDataPoint) {
					point(p.Attributes(), p.Timestamp(), func(r *exportRow) {
						switch p.ValueType() {
						case pmetric.NumberDataPointValueTypeInt:
							r.Value = some(float64(p.IntValue()))
						case pmetric.NumberDataPointValueTypeDouble:
							r.Value = some(p.DoubleValue())
						}
					})
				},
				Histogram: func(p pmetric.HistogramDataPoint) {
					point(p.Attributes(), p.Timestamp(), func(r *exportRow) {
						r.Count = some(int64(p.Count()))
						if p.HasSum() {
							r.Sum = some(p.Sum())
						}
					})
				},
				ExpHistogram: func(p pmetric.ExponentialHistogramDataPoint) {
					point(p.Attributes(), p.Timestamp(), func(r *exportRow) {
						r.Count = some(int64(p.Count()))
						if p.HasSum() {
							r.Sum = some(p.Sum())
						}
					})
				},
				Summary: func(p pmetric.SummaryDataPoint) {
					point(p.Attributes(), p.Timestamp(), func(r *exportRow) {
						r.Count, r.Sum = some(int64(p.Count())), some(p.Sum())
					})
				},
			})
			if !ok {
				return n, err
			}
		}
	case sessionstore.SignalLogs:
		for at, lr := range pdatawalk.LogRecords(b.Logs) {
			if !emit(m.log(at.Resource, lr)) {
				return n, err
			}
		}
	}
	return n, nil
}

func (m *rowMaker) span(res pcommon.Resource, sp ptrace.Span) *exportRow {
	r := m.start(sessionstore.SignalTraces, res.Attributes(), sp.Attributes())
	r.Name = sp.Name()
	r.TraceID, r.SpanID, r.ParentSpanID = sp.TraceID().String(), sp.SpanID().String(), sp.ParentSpanID().String()
	r.Time = int64(sp.StartTimestamp())
	if end := sp.EndTimestamp(); end != 0 {
		r.EndTime = some(int64(end))
		if sp.StartTimestamp() != 0 {
			r.Duration = some(int64(end) - int64(sp.StartTimestamp()))
		}
	}
	r.SpanKind = some(strings.TrimPrefix(sp.Kind().String(), "SpanKind"))
	r.StatusCode = some(strings.TrimPrefix(sp.Status().Code().String(), "StatusCode"))
	return r
}

func (m *rowMaker) log(res pcommon.Resource, lr plog.LogRecord) *exportRow {
	r := m.start(sessionstore.SignalLogs, res.Attributes(), lr.Attributes())
	r.Name = lr.Body().AsString()
	r.TraceID, r.SpanID = lr.TraceID().String(), lr.SpanID().String()
	r.Time = int64(lr.Timestamp())
	if r.Time == 0 {
		r.Time = int64(lr.ObservedTimestamp())
	}
	if s := lr.SeverityText(); s != "" {
		r.SeverityText = some(s)
	}
	if n := lr.SeverityNumber(); n != plog.SeverityNumberUnspecified {
		r.SeverityNum = some(int64(n))
	}
	return r
}
