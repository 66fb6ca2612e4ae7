package generator // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/generator"

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

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
// the metrics window. All randomness comes from (seed, k).
func (g *Generator) trace(k uint64, ph *Phase, start time.Time, b *builder, m *aggregator) {
	t := &tctx{g: g, ph: ph, b: b, m: m, rng: rand.New(rand.NewPCG(uint64(g.o.Seed), k^0x9e3779b97f4a7c15)), window: start}
	hi, lo := t.rng.Uint64(), t.rng.Uint64()
	for i := range 8 {
		t.traceID[i] = byte(hi >> (8 * i))
		t.traceID[8+i] = byte(lo >> (8 * i))
	}
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
		binary := t.rng.Uint64()
		for i := range id {
			id[i] = byte(binary >> (8 * i))
		}
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
		port := portOr(h.Port, 8080)
		cs.SetName(h.Method + " " + h.Route)
		a.PutStr("http.request.method", h.Method)
		a.PutStr("url.template", h.Route)
		a.PutStr("url.full", fmt.Sprintf("http://%s:%d%s", callee.Service, port, fillRoute(h.Route, t.rng)))
		a.PutStr("server.address", callee.Service)
		a.PutInt("server.port", int64(port))
		a.PutStr("network.protocol.version", "1.1")
		status := 200
		if res.fail != nil {
			status = httpStatus(res.fail)
		}
		a.PutInt("http.response.status_code", int64(status))
		if status >= 400 {
			a.PutStr("error.type", itoa(status))
			cs.Status().SetCode(ptrace.StatusCodeError)
		}
	case scenario.KindGRPCServer:
		g := callee.GRPC
		method := g.Service + "/" + g.Method
		cs.SetName(method)
		a.PutStr("rpc.system.name", "grpc")
		a.PutStr("rpc.method", method)
		a.PutStr("server.address", callee.Service)
		a.PutInt("server.port", int64(portOr(g.Port, 50051)))
		code := "OK"
		if res.fail != nil {
			code = grpcStatus(res.fail)
		}
		a.PutStr("rpc.response.status_code", code)
		if code != "OK" {
			a.PutStr("error.type", code)
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

func httpStatus(f *failure) int {
	if f.httpStatus != 0 {
		return f.httpStatus
	}
	return 500
}

func grpcStatus(f *failure) string {
	if f.grpcStatus != "" {
		return f.grpcStatus
	}
	return "UNAVAILABLE"
}

func portOr(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

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
		a.PutStr("http.request.method", h.Method)
		a.PutStr("http.route", h.Route)
		a.PutStr("url.path", fillRoute(h.Route, t.rng))
		a.PutStr("url.scheme", "http")
		a.PutStr("server.address", op.Service)
		a.PutInt("server.port", int64(portOr(h.Port, 8080)))
		a.PutStr("network.protocol.version", "1.1")
		status := 200
		if fail != nil {
			status = httpStatus(fail)
		}
		a.PutInt("http.response.status_code", int64(status))
		if status >= 500 {
			a.PutStr("error.type", itoa(status))
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	case scenario.KindGRPCServer:
		g := op.GRPC
		method := g.Service + "/" + g.Method
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetName(method)
		a.PutStr("rpc.system.name", "grpc")
		a.PutStr("rpc.method", method)
		a.PutStr("server.address", op.Service)
		a.PutInt("server.port", int64(portOr(g.Port, 50051)))
		code := "OK"
		if fail != nil {
			code = grpcStatus(fail)
		}
		a.PutStr("rpc.response.status_code", code)
		if slices.Contains(grpcServerErrors, code) {
			a.PutStr("error.type", code)
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	case scenario.KindDBClient:
		d := op.DB
		summary := strings.TrimSpace(d.Operation + " " + d.Collection)
		sp.SetKind(ptrace.SpanKindClient)
		sp.SetName(summary)
		a.PutStr("db.system.name", d.System)
		a.PutStr("db.operation.name", d.Operation)
		if d.Collection != "" {
			a.PutStr("db.collection.name", d.Collection)
		}
		a.PutStr("db.query.summary", summary)
		if d.Host != "" {
			a.PutStr("server.address", d.Host)
		}
		if d.Port != 0 {
			a.PutInt("server.port", int64(d.Port))
		}
		if fail != nil {
			a.PutStr("error.type", fail.errType)
			a.PutStr("db.response.status_code", fail.errType)
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
		a.PutStr("messaging.system", m.System)
		a.PutStr("messaging.operation.type", opType)
		a.PutStr("messaging.operation.name", opName)
		a.PutStr("messaging.destination.name", m.Destination)
		if fail != nil {
			a.PutStr("error.type", fail.errType)
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
			a.PutStr("error.type", fail.errType)
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
	sp.Attributes().PutStr(AttrFaultName, fail.fault)
	sp.Attributes().PutBool(AttrFaultRoot, true)
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage(fail.message)
	ts := pcommon.NewTimestampFromTime(end)
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts)
	ev.Attributes().PutStr("exception.type", fail.errType)
	ev.Attributes().PutStr("exception.message", fail.message)
	lr := t.b.log(op.Service)
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(ts)
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.SetSeverityText("ERROR")
	lr.Body().SetStr(fail.message)
	lr.SetTraceID(t.traceID)
	lr.SetSpanID(sp.SpanID())
	lr.Attributes().PutStr("exception.type", fail.errType)
	lr.Attributes().PutStr("exception.message", fail.message)
	lr.Attributes().PutStr(AttrFaultName, fail.fault)
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
	if v, ok := entry.Attributes().Get("http.response.status_code"); ok {
		lr.Attributes().PutStr("http.request.method", op.HTTP.Method)
		lr.Attributes().PutStr("http.route", op.HTTP.Route)
		lr.Attributes().PutInt("http.response.status_code", v.Int())
		lr.Body().SetStr(fmt.Sprintf("%s %s %d %s", op.HTTP.Method, op.HTTP.Route, v.Int(), dur.Round(time.Microsecond)))
	} else if v, ok := entry.Attributes().Get("rpc.response.status_code"); ok {
		lr.Body().SetStr(fmt.Sprintf("%s/%s %s %s", op.GRPC.Service, op.GRPC.Method, v.Str(), dur.Round(time.Microsecond)))
	}
}
