package generator // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/generator"

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"
)

// tctx is the state of one trace being generated.
type tctx struct {
	g        *Generator
	ph       *Phase
	b        *builder
	m        *aggregator
	rng      *rand.Rand
	traceID  pcommon.TraceID
	baseline string // operation that fails for the baseline error rate, or ""
	window   time.Time
}

// failure is why an operation failed.
type failure struct {
	fault      string // set on the operation where the fault originates
	errType    string
	message    string
	httpStatus int
	grpcStatus string
}

type outcome struct {
	end  time.Time
	fail *failure
}

// gRPC codes that make a server span an error (semantic conventions).
var grpcServerErrors = []string{"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}

// trace generates trace number k, starting at start, into the batch and
// the metrics window. Its random draws come from (seed, k); which faults
// fire comes from the run's low-discrepancy sequences (see faults), so it
// also depends on the traces before it.
func (g *Generator) trace(k uint64, ph *Phase, start time.Time, b *builder, m *aggregator) {
	t := &tctx{g: g, ph: ph, b: b, m: m, rng: rand.New(rand.NewPCG(uint64(g.o.Seed), k^0x9e3779b97f4a7c15)), window: start}
	binary.LittleEndian.PutUint64(t.traceID[:8], t.rng.Uint64())
	binary.LittleEndian.PutUint64(t.traceID[8:], t.rng.Uint64())
	// Entry by weight.
	x := t.rng.Float64()
	e := g.entries[len(g.entries)-1]
	for _, c := range g.entries {
		if x < c.cumul {
			e = c
			break
		}
	}
	// Baseline errors: a share error_rate of traces fails at one operation
	// they reach, chosen at random.
	if frac(g.baselineOff+float64(k)*golden) < g.o.ErrorRate {
		ops := g.reach[e.op]
		t.baseline = ops[t.rng.IntN(len(ops))]
	}
	op := g.sc.Op(e.op)
	out := t.exec(op, pcommon.SpanID{}, start, nil)
	t.accessLog(op, out)
}

func frac(x float64) float64 { return x - math.Floor(x) }

func (t *tctx) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	for id.IsEmpty() {
		binary.LittleEndian.PutUint64(id[:], t.rng.Uint64())
	}
	return id
}

// sample draws from the log-normal latency distribution of l.
func (t *tctx) sample(l scenario.Latency) time.Duration {
	med := float64(l.Median)
	sigma := 0.0
	if l.P99 > l.Median {
		sigma = math.Log(float64(l.P99)/med) / 2.326
	}
	return time.Duration(med * math.Exp(sigma*t.rng.NormFloat64()))
}

func (t *tctx) netDelay() time.Duration {
	return time.Duration(200+t.rng.IntN(800)) * time.Microsecond
}

// faults decides, for one invocation of op, which faults fire.
func (t *tctx) faults(op *scenario.Operation) (fail *failure, slow float64) {
	slow = 1
	for i := range t.g.faults {
		fs := &t.g.faults[i]
		if fs.f.Operation != op.ID {
			continue
		}
		p := t.ph.Flags[fs.name]
		n := fs.n
		fs.n++
		if p <= 0 || frac(fs.off+float64(n)*golden) >= p {
			continue
		}
		switch fs.f.Kind {
		case scenario.FaultLatency:
			slow *= fs.f.LatencyFactor
		case scenario.FaultError:
			if fail == nil {
				fail = &failure{fault: fs.name, errType: fs.f.ErrorType, message: fs.f.Message,
					httpStatus: fs.f.HTTPStatus, grpcStatus: fs.f.GRPCStatus}
			}
		}
	}
	if fail == nil && t.baseline == op.ID {
		t.baseline = "" // once per trace
		fail = &failure{fault: BaselineFaultName, errType: op.ErrorType, message: "injected baseline error in " + op.ID}
	}
	if fail != nil && fail.errType == "" {
		fail.errType = defaultErrorType(op)
	}
	if fail != nil && fail.message == "" {
		fail.message = fail.errType
	}
	return fail, slow
}

func defaultErrorType(op *scenario.Operation) string {
	switch op.Kind {
	case scenario.KindDBClient:
		return "08006"
	case scenario.KindHTTPServer:
		return "500"
	case scenario.KindGRPCServer:
		return "UNAVAILABLE"
	}
	return "Error"
}

// exec runs one operation: its own span in its service, its calls in
// order (a failed call ends the sequence, as the real service would), and
// the consumers of a message it produces.
func (t *tctx) exec(op *scenario.Operation, parent pcommon.SpanID, start time.Time, link *ptrace.Span) outcome {
	sp := t.b.span(op.Service)
	id := t.spanID()
	sp.SetTraceID(t.traceID)
	sp.SetSpanID(id)
	sp.SetParentSpanID(parent)
	fail, slow := t.faults(op)
	self := time.Duration(float64(t.sample(op.Latency)) * slow)
	pre := self * 3 / 10
	cursor := start.Add(pre)
	var downstream *failure
	var downstreamOp string
	if fail == nil {
		groupStart, groupEnd := cursor, cursor
		for i, c := range op.Calls {
			if c.Probability != nil && t.rng.Float64() >= *c.Probability {
				continue
			}
			if !c.Parallel || i == 0 {
				if downstream != nil {
					break // a failed call ends the sequence
				}
				groupStart = groupEnd
			}
			callee := t.g.sc.Op(c.To)
			res := t.call(op, callee, id, groupStart)
			if res.end.After(groupEnd) {
				groupEnd = res.end
			}
			if res.fail != nil && downstream == nil {
				downstream, downstreamOp = res.fail, callee.ID
			}
		}
		cursor = groupEnd
	}
	end := cursor.Add(self - pre)
	if fail == nil && downstream != nil {
		fail = propagated(op, downstream, downstreamOp)
	}
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	t.describe(op, sp, fail, link)
	if fail != nil && fail.fault != "" {
		t.origin(op, sp, fail, end)
	}
	t.observe(op, sp, fail)
	// A producer's message reaches its consumers after a queue delay; they
	// run on, whatever happens to the producer's caller.
	if op.Kind == scenario.KindProducer && fail == nil {
		for _, cid := range op.Consumers {
			cop := t.g.sc.Op(cid)
			at := end.Add(t.sample(op.Message.QueueDelay))
			t.exec(cop, id, at, &sp)
		}
	}
	return outcome{end: end, fail: fail}
}

// call invokes callee from op: remote operations get a client span in the
// caller's service around the callee's server span.
func (t *tctx) call(op, callee *scenario.Operation, parent pcommon.SpanID, start time.Time) outcome {
	if callee.Kind != scenario.KindHTTPServer && callee.Kind != scenario.KindGRPCServer {
		return t.exec(callee, parent, start, nil)
	}
	cs := t.b.span(op.Service)
	cid := t.spanID()
	cs.SetTraceID(t.traceID)
	cs.SetSpanID(cid)
	cs.SetParentSpanID(parent)
	cs.SetKind(ptrace.SpanKindClient)
	net := t.netDelay()
	res := t.exec(callee, cid, start.Add(net), nil)
	end := res.end.Add(t.netDelay())
	cs.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	cs.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	a := cs.Attributes()
	switch callee.Kind {
	case scenario.KindHTTPServer:
		h := callee.HTTP
		port := cmp.Or(h.Port, 8080)
		cs.SetName(h.Method + " " + h.Route)
		a.PutStr(string(semconv.HTTPRequestMethodKey), h.Method)
		a.PutStr(string(semconv.URLTemplateKey), h.Route)
		a.PutStr(string(semconv.URLFullKey), fmt.Sprintf("http://%s:%d%s", callee.Service, port, fillRoute(h.Route, t.rng)))
		a.PutStr(string(semconv.ServerAddressKey), callee.Service)
		a.PutInt(string(semconv.ServerPortKey), int64(port))
		a.PutStr(string(semconv.NetworkProtocolVersionKey), "1.1")
		status := 200
		if res.fail != nil {
			status = httpStatus(res.fail)
		}
		a.PutInt(string(semconv.HTTPResponseStatusCodeKey), int64(status))
		if status >= 400 {
			a.PutStr(string(semconv.ErrorTypeKey), strconv.Itoa(status))
			cs.Status().SetCode(ptrace.StatusCodeError)
		}
	case scenario.KindGRPCServer:
		g := callee.GRPC
		method := g.Service + "/" + g.Method
		cs.SetName(method)
		a.PutStr(string(semconv.RPCSystemNameKey), "grpc")
		a.PutStr(string(semconv.RPCMethodKey), method)
		a.PutStr(string(semconv.ServerAddressKey), callee.Service)
		a.PutInt(string(semconv.ServerPortKey), int64(cmp.Or(g.Port, 50051)))
		code := "OK"
		if res.fail != nil {
			code = grpcStatus(res.fail)
		}
		a.PutStr(string(semconv.RPCResponseStatusCodeKey), code)
		if code != "OK" {
			a.PutStr(string(semconv.ErrorTypeKey), code)
			cs.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return outcome{end: end, fail: res.fail}
}

// propagated is how op fails when a call it depends on failed.
func propagated(op *scenario.Operation, cause *failure, calleeID string) *failure {
	f := &failure{message: fmt.Sprintf("%s failed: %s", calleeID, cause.message)}
	switch op.Kind {
	case scenario.KindHTTPServer:
		f.httpStatus, f.errType = 500, "500"
	case scenario.KindGRPCServer:
		f.grpcStatus, f.errType = "INTERNAL", "INTERNAL"
	default:
		f.errType = cause.errType
	}
	return f
}

// httpStatus is the HTTP status a failure reports, 500 unless its fault
// sets one.
func httpStatus(f *failure) int { return cmp.Or(f.httpStatus, 500) }

// grpcStatus is the gRPC status a failure reports, UNAVAILABLE unless its
// fault sets one.
func grpcStatus(f *failure) string { return cmp.Or(f.grpcStatus, "UNAVAILABLE") }

// fillRoute turns a route template into a concrete path.
func fillRoute(route string, rng *rand.Rand) string {
	if !strings.Contains(route, "{") {
		return route
	}
	var sb strings.Builder
	for {
		i := strings.IndexByte(route, '{')
		if i < 0 {
			sb.WriteString(route)
			return sb.String()
		}
		j := strings.IndexByte(route[i:], '}')
		if j < 0 {
			sb.WriteString(route)
			return sb.String()
		}
		sb.WriteString(route[:i])
		fmt.Fprintf(&sb, "%06d", rng.IntN(1_000_000))
		route = route[i+j+1:]
	}
}

// describe gives an operation's own span its name, kind, attributes and
// status per the semantic conventions.
func (t *tctx) describe(op *scenario.Operation, sp ptrace.Span, fail *failure, link *ptrace.Span) {
	a := sp.Attributes()
	switch op.Kind {
	case scenario.KindHTTPServer:
		h := op.HTTP
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetName(h.Method + " " + h.Route)
		a.PutStr(string(semconv.HTTPRequestMethodKey), h.Method)
		a.PutStr(string(semconv.HTTPRouteKey), h.Route)
		a.PutStr(string(semconv.URLPathKey), fillRoute(h.Route, t.rng))
		a.PutStr(string(semconv.URLSchemeKey), "http")
		a.PutStr(string(semconv.ServerAddressKey), op.Service)
		a.PutInt(string(semconv.ServerPortKey), int64(cmp.Or(h.Port, 8080)))
		a.PutStr(string(semconv.NetworkProtocolVersionKey), "1.1")
		status := 200
		if fail != nil {
			status = httpStatus(fail)
		}
		a.PutInt(string(semconv.HTTPResponseStatusCodeKey), int64(status))
		if status >= 500 {
			a.PutStr(string(semconv.ErrorTypeKey), strconv.Itoa(status))
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	case scenario.KindGRPCServer:
		g := op.GRPC
		method := g.Service + "/" + g.Method
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetName(method)
		a.PutStr(string(semconv.RPCSystemNameKey), "grpc")
		a.PutStr(string(semconv.RPCMethodKey), method)
		a.PutStr(string(semconv.ServerAddressKey), op.Service)
		a.PutInt(string(semconv.ServerPortKey), int64(cmp.Or(g.Port, 50051)))
		code := "OK"
		if fail != nil {
			code = grpcStatus(fail)
		}
		a.PutStr(string(semconv.RPCResponseStatusCodeKey), code)
		if slices.Contains(grpcServerErrors, code) {
			a.PutStr(string(semconv.ErrorTypeKey), code)
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	case scenario.KindDBClient:
		d := op.DB
		summary := strings.TrimSpace(d.Operation + " " + d.Collection)
		sp.SetKind(ptrace.SpanKindClient)
		sp.SetName(summary)
		a.PutStr(string(semconv.DBSystemNameKey), d.System)
		a.PutStr(string(semconv.DBOperationNameKey), d.Operation)
		if d.Collection != "" {
			a.PutStr(string(semconv.DBCollectionNameKey), d.Collection)
		}
		a.PutStr(string(semconv.DBQuerySummaryKey), summary)
		if d.Host != "" {
			a.PutStr(string(semconv.ServerAddressKey), d.Host)
		}
		if d.Port != 0 {
			a.PutInt(string(semconv.ServerPortKey), int64(d.Port))
		}
		if fail != nil {
			a.PutStr(string(semconv.ErrorTypeKey), fail.errType)
			a.PutStr(string(semconv.DBResponseStatusCodeKey), fail.errType)
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	case scenario.KindProducer, scenario.KindConsumer:
		m := op.Message
		opName, opType := "send", "send"
		sp.SetKind(ptrace.SpanKindProducer)
		if op.Kind == scenario.KindConsumer {
			opName, opType = "process", "process"
			sp.SetKind(ptrace.SpanKindConsumer)
		}
		sp.SetName(opName + " " + m.Destination)
		a.PutStr(string(semconv.MessagingSystemKey), m.System)
		a.PutStr(string(semconv.MessagingOperationTypeKey), opType)
		a.PutStr(string(semconv.MessagingOperationNameKey), opName)
		a.PutStr(string(semconv.MessagingDestinationNameKey), m.Destination)
		if fail != nil {
			a.PutStr(string(semconv.ErrorTypeKey), fail.errType)
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		if link != nil {
			l := sp.Links().AppendEmpty()
			l.SetTraceID(link.TraceID())
			l.SetSpanID(link.SpanID())
		}
	default:
		sp.SetKind(ptrace.SpanKindInternal)
		sp.SetName(op.ID)
		if fail != nil {
			a.PutStr(string(semconv.ErrorTypeKey), fail.errType)
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	if fail != nil && sp.Status().Code() == ptrace.StatusCodeError {
		sp.Status().SetMessage(fail.message)
	}
}

// origin marks the span where a fault starts and records the exception as
// a span event and a log record carrying the span's trace and span ids.
func (t *tctx) origin(op *scenario.Operation, sp ptrace.Span, fail *failure, end time.Time) {
	sp.Attributes().PutStr(sessionstore.AttrFaultName, fail.fault)
	sp.Attributes().PutBool(sessionstore.AttrFaultRoot, true)
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage(fail.message)
	ts := pcommon.NewTimestampFromTime(end)
	ev := sp.Events().AppendEmpty()
	ev.SetName(semconv.ExceptionEventName)
	ev.SetTimestamp(ts)
	ev.Attributes().PutStr(string(semconv.ExceptionTypeKey), fail.errType)
	ev.Attributes().PutStr(string(semconv.ExceptionMessageKey), fail.message)
	lr := t.b.log(op.Service)
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(ts)
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.SetSeverityText("ERROR")
	lr.Body().SetStr(fail.message)
	lr.SetTraceID(t.traceID)
	lr.SetSpanID(sp.SpanID())
	lr.Attributes().PutStr(string(semconv.ExceptionTypeKey), fail.errType)
	lr.Attributes().PutStr(string(semconv.ExceptionMessageKey), fail.message)
	lr.Attributes().PutStr(sessionstore.AttrFaultName, fail.fault)
}

// accessLog records the entry request, like a web server's access log.
func (t *tctx) accessLog(op *scenario.Operation, out outcome) {
	spans := t.b.spans[op.Service]
	// The entry span is the last span of its service written by exec for
	// this trace with no parent.
	var entry ptrace.Span
	for i := spans.Len() - 1; i >= 0; i-- {
		if spans.At(i).TraceID() == t.traceID && spans.At(i).ParentSpanID().IsEmpty() {
			entry = spans.At(i)
			break
		}
	}
	lr := t.b.log(op.Service)
	ts := pcommon.NewTimestampFromTime(out.end)
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(ts)
	lr.SetTraceID(t.traceID)
	lr.SetSpanID(entry.SpanID())
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	if out.fail != nil {
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
	}
	dur := time.Duration(entry.EndTimestamp() - entry.StartTimestamp())
	if v, ok := entry.Attributes().Get(string(semconv.HTTPResponseStatusCodeKey)); ok {
		lr.Attributes().PutStr(string(semconv.HTTPRequestMethodKey), op.HTTP.Method)
		lr.Attributes().PutStr(string(semconv.HTTPRouteKey), op.HTTP.Route)
		lr.Attributes().PutInt(string(semconv.HTTPResponseStatusCodeKey), v.Int())
		lr.Body().SetStr(fmt.Sprintf("%s %s %d %s", op.HTTP.Method, op.HTTP.Route, v.Int(), dur.Round(time.Microsecond)))
	} else if v, ok := entry.Attributes().Get(string(semconv.RPCResponseStatusCodeKey)); ok {
		lr.Body().SetStr(fmt.Sprintf("%s/%s %s %s", op.GRPC.Service, op.GRPC.Method, v.Str(), dur.Round(time.Microsecond)))
	}
}
