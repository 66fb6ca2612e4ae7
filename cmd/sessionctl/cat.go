package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessiondiff"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// cat prints a session's items in capture order, object by object: one
// object is decoded at a time, so memory is bounded by the largest object,
// never by the session.
func (c *cli) cat(args []string) int {
	fs := flag.NewFlagSet("cat", flag.ContinueOnError)
	fs.SetOutput(c.errw)
	signal := fs.String("signal", "", "print only this signal: traces, metrics or logs")
	asJSON := fs.Bool("json", false, "OTLP/JSON lines: one export request per stored object per line")
	maxBytes := fs.Int64("max-object-bytes", sessionstore.DefaultRecountObjectBytes, "decompressed size cap per object")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		return c.fail("cat needs one session id")
	}
	sig, err := parseSignal(*signal)
	if err != nil {
		return c.fail("cat: %v", err)
	}
	id := pos[0]
	if err := c.checkSession(id); err != nil {
		return c.fail("%v", err)
	}
	w := bufio.NewWriterSize(c.out, 64<<10)
	// problem reports a bad object on stderr, after what stdout holds so far.
	bad := 0
	problem := func(format string, a ...any) {
		_ = w.Flush()
		fmt.Fprintf(c.errw, "sessionctl: cat: "+format+"\n", a...)
	}
	seen := map[string]bool{} // object uuids: later copies of an object are skipped, as replay does
	var line strings.Builder
	for o, err := range sessionstore.ListObjectsByTime(c.ctx, c.st, id) {
		if err != nil {
			if errors.Is(err, sessionstore.ErrCorrupt) {
				bad++
				problem("%v", err)
				continue
			}
			_ = w.Flush()
			return c.fail("cat: list %s: %v", id, err)
		}
		if sig != "" && o.Signal != sig {
			continue
		}
		if seen[o.ID] {
			problem("%s: skipped: a later copy of an object already printed (same uuid)", o.Key)
			continue
		}
		seen[o.ID] = true
		b, _, err := sessionstore.ReadObject(c.ctx, c.st, o, *maxBytes)
		if err != nil {
			if errors.Is(err, sessionstore.ErrCorrupt) || errors.Is(err, sessionstore.ErrTooLarge) {
				bad++
				problem("%v", err)
				continue
			}
			_ = w.Flush()
			return c.fail("cat: read %v", err)
		}
		if *asJSON {
			js, err := marshalJSON(b)
			if err != nil {
				bad++
				problem("%s: %v", o.Key, err)
				continue
			}
			_, _ = w.Write(js)
			_ = w.WriteByte('\n')
		} else {
			writeItems(w, &line, o, b)
		}
		if _, err := w.Write(nil); err != nil { // stdout closed (| head): stop reading
			return c.fail("cat: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		return c.fail("cat: %v", err)
	}
	if bad > 0 {
		fmt.Fprintf(c.errw, "sessionctl: cat: %d bad objects skipped\n", bad)
		return exitProblems
	}
	return exitOK
}

// marshalJSON renders a batch as the OTLP/JSON export request of its
// signal, on one line.
func marshalJSON(b sessionstore.Batch) ([]byte, error) {
	switch b.Signal {
	case sessionstore.SignalTraces:
		return (&ptrace.JSONMarshaler{}).MarshalTraces(b.Traces)
	case sessionstore.SignalMetrics:
		return (&pmetric.JSONMarshaler{}).MarshalMetrics(b.Metrics)
	case sessionstore.SignalLogs:
		return (&plog.JSONMarshaler{}).MarshalLogs(b.Logs)
	}
	return nil, fmt.Errorf("unknown signal %q", b.Signal)
}

// writeItems writes one line per item of the batch.
func writeItems(w *bufio.Writer, line *strings.Builder, o sessionstore.Object, b sessionstore.Batch) {
	prefix := o.CaptureTime.UTC().Format("2006-01-02T15:04:05.000Z07:00") + " " + string(o.Signal) + " "
	emit := func(res pcommon.Resource, body func()) {
		line.Reset()
		line.WriteString(prefix)
		service := sessiondiff.ServiceName(res)
		if service == "" {
			service = "-"
		}
		line.WriteString(service)
		line.WriteByte(' ')
		body()
		line.WriteByte('\n')
		_, _ = w.WriteString(line.String())
	}
	switch b.Signal {
	case sessionstore.SignalTraces:
		for at, sp := range pdatawalk.Spans(b.Traces) {
			emit(at.Resource, func() { spanLine(line, sp) })
		}
	case sessionstore.SignalMetrics:
		for at, m := range pdatawalk.Metrics(b.Metrics) {
			for _, p := range pointLines(m) {
				emit(at.Resource, func() { line.WriteString(p) })
			}
		}
	case sessionstore.SignalLogs:
		for at, lr := range pdatawalk.LogRecords(b.Logs) {
			emit(at.Resource, func() { logLine(line, lr) })
		}
	}
}

func spanLine(sb *strings.Builder, sp ptrace.Span) {
	fmt.Fprintf(sb, "span %s kind=%s trace=%s span=%s parent=%s duration=%s status=%s",
		strconv.Quote(sp.Name()), sp.Kind(), sessiondiff.FormatTraceID(sp.TraceID()), sessiondiff.FormatSpanID(sp.SpanID()),
		sessiondiff.FormatSpanID(sp.ParentSpanID()), duration(sp.StartTimestamp(), sp.EndTimestamp()), sp.Status().Code())
	if msg := sp.Status().Message(); msg != "" {
		fmt.Fprintf(sb, "(%s)", strconv.Quote(msg))
	}
	if n := sp.Events().Len(); n > 0 {
		fmt.Fprintf(sb, " events=%d", n)
	}
	if n := sp.Links().Len(); n > 0 {
		fmt.Fprintf(sb, " links=%d", n)
	}
	sb.WriteByte(' ')
	sb.WriteString(sessiondiff.FormatAttributes(sp.Attributes()))
}

func duration(from, to pcommon.Timestamp) string {
	if from == 0 || to == 0 {
		return "-"
	}
	return time.Duration(int64(to) - int64(from)).String()
}

func logLine(sb *strings.Builder, lr plog.LogRecord) {
	sev := lr.SeverityText()
	if sev == "" {
		sev = lr.SeverityNumber().String()
	}
	fmt.Fprintf(sb, "log %s", sev)
	if name := lr.EventName(); name != "" {
		fmt.Fprintf(sb, " event=%s", strconv.Quote(name))
	}
	fmt.Fprintf(sb, " %s", sessiondiff.FormatValue(lr.Body()))
	if !lr.TraceID().IsEmpty() || !lr.SpanID().IsEmpty() {
		fmt.Fprintf(sb, " trace=%s span=%s", sessiondiff.FormatTraceID(lr.TraceID()), sessiondiff.FormatSpanID(lr.SpanID()))
	}
	sb.WriteByte(' ')
	sb.WriteString(sessiondiff.FormatAttributes(lr.Attributes()))
}

// pointLines renders the data points of a metric: name, type, value(s),
// attributes.
func pointLines(m pmetric.Metric) []string {
	head := "point " + strconv.Quote(m.Name()) + " " + strings.ToLower(m.Type().String())
	var out []string
	add := func(values string, attrs pcommon.Map) {
		out = append(out, head+" "+values+" "+sessiondiff.FormatAttributes(attrs))
	}
	optional := func(name string, has bool, v float64) string {
		if !has {
			return ""
		}
		return " " + name + "=" + strconv.FormatFloat(v, 'g', -1, 64)
	}
	pdatawalk.VisitPoints(m, pdatawalk.PointVisitor{
		Number: func(p pmetric.NumberDataPoint) {
			v := "value=-"
			switch p.ValueType() {
			case pmetric.NumberDataPointValueTypeInt:
				v = "value=" + strconv.FormatInt(p.IntValue(), 10)
			case pmetric.NumberDataPointValueTypeDouble:
				v = "value=" + strconv.FormatFloat(p.DoubleValue(), 'g', -1, 64)
			}
			add(v, p.Attributes())
		},
		Histogram: func(p pmetric.HistogramDataPoint) {
			add(fmt.Sprintf("count=%d%s%s%s buckets=%v", p.Count(), optional("sum", p.HasSum(), p.Sum()),
				optional("min", p.HasMin(), p.Min()), optional("max", p.HasMax(), p.Max()), p.BucketCounts().AsRaw()), p.Attributes())
		},
		ExpHistogram: func(p pmetric.ExponentialHistogramDataPoint) {
			add(fmt.Sprintf("count=%d%s%s%s scale=%d zero_count=%d", p.Count(), optional("sum", p.HasSum(), p.Sum()),
				optional("min", p.HasMin(), p.Min()), optional("max", p.HasMax(), p.Max()), p.Scale(), p.ZeroCount()), p.Attributes())
		},
		Summary: func(p pmetric.SummaryDataPoint) {
			qs := make([]string, 0, p.QuantileValues().Len())
			for _, q := range p.QuantileValues().All() {
				qs = append(qs, strconv.FormatFloat(q.Quantile(), 'g', -1, 64)+":"+strconv.FormatFloat(q.Value(), 'g', -1, 64))
			}
			add(fmt.Sprintf("count=%d sum=%s quantiles=[%s]", p.Count(), strconv.FormatFloat(p.Sum(), 'g', -1, 64), strings.Join(qs, " ")), p.Attributes())
		},
	})
	return out
}
