package generator // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/generator"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// builder assembles one batch: a resource per service (in sorted order) with
// one scope, so a batch's layout depends only on what it holds.
type builder struct {
	g     *Generator
	ph    *Phase
	td    ptrace.Traces
	ld    plog.Logs
	spans map[string]ptrace.SpanSlice
	recs  map[string]plog.LogRecordSlice
}

func newBuilder(g *Generator, ph *Phase) *builder {
	b := &builder{g: g, ph: ph, td: ptrace.NewTraces(), ld: plog.NewLogs(),
		spans: map[string]ptrace.SpanSlice{}, recs: map[string]plog.LogRecordSlice{}}
	for _, svc := range g.sc.ServiceNames() {
		rs := b.td.ResourceSpans().AppendEmpty()
		g.fillResource(rs.Resource(), svc, ph)
		ss := rs.ScopeSpans().AppendEmpty()
		g.fillScope(ss.Scope())
		b.spans[svc] = ss.Spans()
		rl := b.ld.ResourceLogs().AppendEmpty()
		g.fillResource(rl.Resource(), svc, ph)
		sl := rl.ScopeLogs().AppendEmpty()
		g.fillScope(sl.Scope())
		b.recs[svc] = sl.LogRecords()
	}
	return b
}

// span appends a span of svc stamped with the phase labels.
func (b *builder) span(svc string) ptrace.Span {
	sp := b.spans[svc].AppendEmpty()
	b.g.phaseAttrs(sp.Attributes(), b.ph)
	return sp
}

// log appends a log record of svc stamped with the phase labels.
func (b *builder) log(svc string) plog.LogRecord {
	lr := b.recs[svc].AppendEmpty()
	b.g.phaseAttrs(lr.Attributes(), b.ph)
	return lr
}

func (b *builder) traces() ptrace.Traces {
	b.td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool { return rs.ScopeSpans().At(0).Spans().Len() == 0 })
	return b.td
}

func (b *builder) logs() plog.Logs {
	b.ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool { return rl.ScopeLogs().At(0).LogRecords().Len() == 0 })
	return b.ld
}

func (g *Generator) fillScope(s pcommon.InstrumentationScope) {
	s.SetName(ScopeName)
	s.SetVersion(g.o.Version)
}

// phaseAttrs stamps the ground-truth phase labels.
func (g *Generator) phaseAttrs(m pcommon.Map, ph *Phase) {
	m.PutStr(sessionstore.AttrPhaseName, ph.Name)
	m.PutInt(sessionstore.AttrPhaseIndex, int64(ph.Index))
}

// fillResource writes a service's resource: semantic conventions plus
// everything the capture side needs to describe the seed session.
func (g *Generator) fillResource(r pcommon.Resource, svc string, ph *Phase) {
	a := r.Attributes()
	info := g.sc.Services[svc]
	a.PutStr(string(semconv.ServiceNameKey), svc)
	if info.Version != "" {
		a.PutStr(string(semconv.ServiceVersionKey), info.Version)
	}
	a.PutStr(string(semconv.ServiceNamespaceKey), "seed")
	a.PutStr(string(semconv.ServiceInstanceIDKey), g.instIDs[svc])
	a.PutStr(string(semconv.DeploymentEnvironmentNameKey), g.sc.Environment)
	if info.Language != "" {
		a.PutStr(string(semconv.TelemetrySDKLanguageKey), info.Language)
	}
	a.PutStr(string(semconv.TelemetrySDKNameKey), "opentelemetry")
	a.PutStr(sessionstore.AttrSessionID, g.o.SessionID)
	a.PutStr(sessionstore.AttrPattern, g.sc.Name)
	a.PutInt(sessionstore.AttrSeed, g.o.Seed)
	a.PutDouble(sessionstore.AttrRate, g.o.TracesPerSecond)
	a.PutDouble(sessionstore.AttrErrorRate, g.o.ErrorRate)
	a.PutStr(sessionstore.AttrDuration, g.total.String())
	if g.o.Description != "" {
		a.PutStr(sessionstore.AttrDescription, g.o.Description)
	}
	for _, k := range g.labelNames {
		a.PutStr(sessionstore.AttrLabel+k, g.o.Labels[k])
	}
	if g.o.DiagnosticSessionID != "" {
		a.PutStr(sessionstore.AttrDiagnosticSessionID, g.o.DiagnosticSessionID)
	}
	g.phaseAttrs(a, ph)
	a.PutStr(sessionstore.AttrPhaseStart, ph.Start.Format(time.RFC3339Nano))
	a.PutStr(sessionstore.AttrPhaseEnd, ph.End.Format(time.RFC3339Nano))
	for _, f := range g.sc.Flags() {
		a.PutDouble(sessionstore.AttrPhaseFlag+f, ph.Flags[f])
	}
}
