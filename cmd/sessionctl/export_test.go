package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// exportPhases are the phases of the export fixture, with their flags.
var exportPhases = []struct {
	name  string
	flags map[string]float64
}{
	{"baseline", map[string]float64{"paymentFailure": 0, "checkout.slow": 0}},
	{"failure", map[string]float64{"paymentFailure": 0.75, "checkout.slow": 1}},
}

// groundTruth stamps the phase on a resource as seed_gen does (name,
// index, flags).
func groundTruth(res pcommon.Resource, p int) {
	a := res.Attributes()
	a.PutStr("service.name", "checkout")
	a.PutStr(sessionstore.AttrPattern, "payment-failure")
	a.PutStr(sessionstore.AttrPhaseName, exportPhases[p].name)
	a.PutInt(sessionstore.AttrPhaseIndex, int64(p))
	for k, v := range exportPhases[p].flags {
		a.PutDouble(sessionstore.AttrPhaseFlag+k, v)
	}
}

// itemPhase stamps the phase on an item, as seed_gen does.
func itemPhase(a pcommon.Map, p int) {
	a.PutStr(sessionstore.AttrPhaseName, exportPhases[p].name)
	a.PutInt(sessionstore.AttrPhaseIndex, int64(p))
}

// exportSeed writes seed session id: per phase one object of each signal:
// five spans (in the failure phase, span 2 is where the fault
// payment-declined originates and span 3 fails from it), one data point of
// each of the five metric types (a gauge of ints, a sum of doubles, a
// histogram, an exponential histogram, a summary) and three log records
// (in the failure phase, one names the fault). Items carry their phase,
// resources the phase and its flags; one span of the baseline carries
// only the resource's phase (the export falls back to it). The session
// is labelled team=payments and run=7.
func exportSeed(t *testing.T, st sessionstore.Store, id string) *sessionstore.Metadata {
	t.Helper()
	w := sessiontest.NewWriter(t, st, id, c0)
	w.Meta.SessionType = sessionstore.SessionTypeSeed
	w.Meta.Labels = map[string]string{"team": "payments", "run": "7"}
	w.Meta.Seed = &sessionstore.SeedInfo{Pattern: "payment-failure", Seed: 42}
	for p := range exportPhases {
		ps := c0.Add(time.Duration(p) * 30 * time.Second)
		w.Meta.Seed.Phases = append(w.Meta.Seed.Phases, sessionstore.Phase{
			Name: exportPhases[p].name, Index: p, Start: ps, End: ps.Add(30 * time.Second), Flags: exportPhases[p].flags, Items: 13,
		})

		td := sessiontest.Traces("checkout", p, 5, ps)
		groundTruth(td.ResourceSpans().At(0).Resource(), p)
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := range spans.Len() {
			sp := spans.At(i)
			if i > 0 {
				sp.SetParentSpanID(spans.At(0).SpanID())
				sp.SetKind(ptrace.SpanKindClient)
			}
			if p == 0 && i == 4 {
				continue // only the resource's phase
			}
			itemPhase(sp.Attributes(), p)
			if p == 1 && (i == 2 || i == 3) {
				sp.Attributes().PutStr(sessionstore.AttrFaultName, "payment-declined")
				sp.Attributes().PutBool(sessionstore.AttrFaultRoot, i == 2)
				sp.Status().SetCode(ptrace.StatusCodeError)
			}
		}
		w.Traces(ps, td)

		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		groundTruth(rm.Resource(), p)
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		at := pcommon.NewTimestampFromTime(ps.Add(time.Second))
		g := ms.AppendEmpty()
		g.SetName("queue.depth")
		gp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		gp.SetIntValue(int64(7 + p))
		gp.SetTimestamp(at)
		itemPhase(gp.Attributes(), p)
		s := ms.AppendEmpty()
		s.SetName("payments.amount")
		sp := s.SetEmptySum().DataPoints().AppendEmpty()
		sp.SetDoubleValue(12.5 * float64(p+1))
		sp.SetTimestamp(at)
		itemPhase(sp.Attributes(), p)
		h := ms.AppendEmpty()
		h.SetName("http.server.request.duration")
		hp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
		hp.SetCount(uint64(10 + p))
		hp.SetSum(1.5)
		hp.SetTimestamp(at)
		itemPhase(hp.Attributes(), p)
		e := ms.AppendEmpty()
		e.SetName("db.latency")
		ep := e.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
		ep.SetCount(4)
		ep.SetSum(0.25)
		ep.SetTimestamp(at)
		itemPhase(ep.Attributes(), p)
		sm := ms.AppendEmpty()
		sm.SetName("gc.pause")
		smp := sm.SetEmptySummary().DataPoints().AppendEmpty()
		smp.SetCount(3)
		smp.SetSum(0.003)
		smp.SetTimestamp(at)
		itemPhase(smp.Attributes(), p)
		w.Metrics(ps.Add(time.Second), md)

		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		groundTruth(rl.Resource(), p)
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range 3 {
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(ps.Add(2*time.Second + time.Duration(i)*time.Millisecond)))
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			lr.Body().SetStr(fmt.Sprintf("charge %d", i))
			lr.SetTraceID(spans.At(i).TraceID())
			lr.SetSpanID(spans.At(i).SpanID())
			itemPhase(lr.Attributes(), p)
			if p == 1 && i == 2 {
				lr.SetSeverityNumber(plog.SeverityNumberError)
				lr.SetSeverityText("ERROR")
				lr.Attributes().PutStr(sessionstore.AttrFaultName, "payment-declined")
			}
		}
		w.Logs(ps.Add(2*time.Second), ld)
	}
	return w.Complete()
}

// wantItem is what a test expects of a row: read straight off an item
// and its resource.
type wantItem struct {
	signal, name, traceID, spanID string
	time                          int64
	phaseName                     any
	phaseIndex                    any
	faultName                     any
	faultRoot                     any
	flags                         map[string]any
}

// attrOf is an attribute of the item, else of its resource, as the value
// a row holds (nil when neither has it).
func attrOf(item, res pcommon.Map, key string) any {
	v, ok := item.Get(key)
	if !ok {
		v, ok = res.Get(key)
	}
	if !ok {
		return nil
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeDouble:
		return v.Double()
	}
	return v.AsString()
}

// wantItems reads the session's items in capture order, straight from the
// store, with the ground truth each row must carry.
func wantItems(t *testing.T, st sessionstore.Store, id string) []wantItem {
	t.Helper()
	ctx := context.Background()
	var out []wantItem
	add := func(res, item pcommon.Map, w wantItem) {
		w.phaseName = attrOf(item, res, sessionstore.AttrPhaseName)
		w.phaseIndex = attrOf(item, res, sessionstore.AttrPhaseIndex)
		w.faultName = attrOf(item, res, sessionstore.AttrFaultName)
		w.faultRoot = attrOf(item, res, sessionstore.AttrFaultRoot)
		w.flags = map[string]any{}
		for k := range exportPhases[0].flags {
			w.flags["flag_"+k] = attrOf(item, res, sessionstore.AttrPhaseFlag+k)
		}
		out = append(out, w)
	}
	for o, err := range sessionstore.ListObjectsByTime(ctx, st, id) {
		require.NoError(t, err)
		b, _, err := sessionstore.ReadObject(ctx, st, o, 64<<20)
		require.NoError(t, err)
		switch b.Signal {
		case sessionstore.SignalTraces:
			for at, sp := range pdatawalk.Spans(b.Traces) {
				add(at.Resource.Attributes(), sp.Attributes(), wantItem{signal: "traces", name: sp.Name(),
					traceID: sp.TraceID().String(), spanID: sp.SpanID().String(), time: int64(sp.StartTimestamp())})
			}
		case sessionstore.SignalMetrics:
			for at, m := range pdatawalk.Metrics(b.Metrics) {
				res := at.Resource.Attributes()
				point := func(a pcommon.Map, ts pcommon.Timestamp) {
					add(res, a, wantItem{signal: "metrics", name: m.Name(), time: int64(ts)})
				}
				pdatawalk.VisitPoints(m, pdatawalk.PointVisitor{
					Number:       func(p pmetric.NumberDataPoint) { point(p.Attributes(), p.Timestamp()) },
					Histogram:    func(p pmetric.HistogramDataPoint) { point(p.Attributes(), p.Timestamp()) },
					ExpHistogram: func(p pmetric.ExponentialHistogramDataPoint) { point(p.Attributes(), p.Timestamp()) },
					Summary:      func(p pmetric.SummaryDataPoint) { point(p.Attributes(), p.Timestamp()) },
				})
			}
		case sessionstore.SignalLogs:
			for at, lr := range pdatawalk.LogRecords(b.Logs) {
				w := wantItem{signal: "logs", name: lr.Body().AsString(), time: int64(lr.Timestamp())}
				if !lr.TraceID().IsEmpty() {
					w.traceID, w.spanID = lr.TraceID().String(), lr.SpanID().String()
				}
				add(at.Resource.Attributes(), lr.Attributes(), w)
			}
		}
	}
	return out
}

// readParquet reads a parquet file's rows as maps from column name to
// value (nil for null).
func readParquet(t *testing.T, data []byte) ([]map[string]any, *parquet.File) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	cols := f.Schema().Columns()
	r := parquet.NewReader(bytes.NewReader(data))
	defer r.Close()
	var out []map[string]any
	buf := make([]parquet.Row, 16)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			m := map[string]any{}
			for _, v := range row {
				name := strings.Join(cols[v.Column()], ".")
				switch {
				case v.IsNull():
					m[name] = nil
				case v.Kind() == parquet.ByteArray:
					m[name] = string(v.ByteArray())
				case v.Kind() == parquet.Int64:
					m[name] = v.Int64()
				case v.Kind() == parquet.Int32:
					m[name] = int64(v.Int32())
				case v.Kind() == parquet.Double:
					m[name] = v.Double()
				case v.Kind() == parquet.Boolean:
					m[name] = v.Boolean()
				default:
					t.Fatalf("column %s: unexpected kind %v", name, v.Kind())
				}
			}
			out = append(out, m)
		}
		if err != nil {
			break
		}
	}
	return out, f
}

func TestExportParquet(t *testing.T) {
	dir, st := newStore(t)
	m := exportSeed(t, st, "seed")
	want := wantItems(t, st, "seed")
	total := m.CapturedTraces + m.CapturedMetrics + m.CapturedLogs
	require.Equal(t, int64(26), total)
	require.Len(t, want, int(total))

	out := filepath.Join(t.TempDir(), "seed.parquet")
	code, stdout, errw := sessionctl(t, "--dir", dir, "export", "seed", "--format", "parquet", "--out", out)
	require.Equal(t, 0, code, errw)
	assert.Empty(t, stdout)
	assert.Equal(t, "sessionctl: export: seed: 26 rows (10 spans, 10 data points, 6 log records) from 6 objects\n", errw)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	rows, f := readParquet(t, data)
	require.Len(t, rows, int(total), "a row per span, data point and log record")
	assert.Equal(t, total, f.NumRows())

	for _, col := range []string{"flag_paymentFailure", "flag_checkout.slow", "label_team", "label_run"} {
		_, ok := f.Schema().Lookup(col)
		assert.True(t, ok, "column %s", col)
	}
	for i, w := range want {
		r := rows[i]
		assert.Equal(t, "seed", r["session_id"], i)
		assert.Equal(t, "seed", r["session_type"], i)
		assert.Equal(t, w.signal, r["signal"], i)
		assert.Equal(t, "checkout", r["service_name"], i)
		assert.Equal(t, w.name, r["name"], i)
		assert.Equal(t, w.traceID, r["trace_id"], i)
		assert.Equal(t, w.spanID, r["span_id"], i)
		assert.Equal(t, w.time, r["time_unix_nano"], i)
		assert.Equal(t, w.phaseName, r["phase_name"], i)
		assert.Equal(t, w.phaseIndex, r["phase_index"], i)
		assert.Equal(t, w.faultName, r["fault_name"], i)
		assert.Equal(t, w.faultRoot, r["fault_root_cause"], i)
		for k, v := range w.flags {
			assert.Equal(t, v, r[k], "row %d %s", i, k)
		}
		assert.Equal(t, "payments", r["label_team"], i)
		assert.Equal(t, "7", r["label_run"], i)
	}

	// The fields of each signal.
	span := rows[2] // baseline, a child span
	assert.Equal(t, "Client", span["span_kind"])
	assert.Equal(t, "Unset", span["status_code"])
	assert.Equal(t, hex.EncodeToString(mustSpanID(t, rows[0]["span_id"])), span["parent_span_id"])
	assert.Equal(t, int64(3*time.Millisecond), span["duration_nanos"])
	assert.Equal(t, span["time_unix_nano"].(int64)+int64(3*time.Millisecond), span["end_time_unix_nano"])
	assert.Nil(t, span["metric_type"])
	assert.Empty(t, rows[0]["parent_span_id"])
	failed := rows[13+2] // failure phase, the fault's root
	assert.Equal(t, "Error", failed["status_code"])
	assert.Equal(t, true, failed["fault_root_cause"])
	assert.Equal(t, 0.75, failed["flag_paymentFailure"])

	points := rows[5:10]
	assert.Equal(t, []any{"Gauge", "Sum", "Histogram", "ExponentialHistogram", "Summary"},
		[]any{points[0]["metric_type"], points[1]["metric_type"], points[2]["metric_type"], points[3]["metric_type"], points[4]["metric_type"]})
	assert.Equal(t, 7.0, points[0]["value"])
	assert.Equal(t, 12.5, points[1]["value"])
	assert.Equal(t, int64(10), points[2]["count"])
	assert.Equal(t, 1.5, points[2]["sum"])
	assert.Nil(t, points[2]["value"])
	assert.Equal(t, int64(4), points[3]["count"])
	assert.Equal(t, 0.003, points[4]["sum"])
	assert.Nil(t, points[0]["span_kind"])
	assert.Empty(t, points[0]["trace_id"])

	logRow := rows[13+10+2]
	assert.Equal(t, "charge 2", logRow["name"])
	assert.Equal(t, "ERROR", logRow["severity_text"])
	assert.Equal(t, int64(plog.SeverityNumberError), logRow["severity_number"])
	assert.Equal(t, "payment-declined", logRow["fault_name"])
	assert.Nil(t, logRow["fault_root_cause"])
}

func mustSpanID(t *testing.T, v any) []byte {
	t.Helper()
	b, err := hex.DecodeString(v.(string))
	require.NoError(t, err)
	return b
}

func TestExportJSONL(t *testing.T) {
	dir, st := newStore(t)
	exportSeed(t, st, "seed")
	want := wantItems(t, st, "seed")

	code, stdout, errw := sessionctl(t, "--dir", dir, "export", "seed", "--format", "jsonl")
	require.Equal(t, 0, code, errw)
	var rows []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var r map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber() // nanoseconds do not fit a float64
		require.NoError(t, dec.Decode(&r), sc.Text())
		rows = append(rows, r)
	}
	require.Len(t, rows, len(want))
	num := func(v any) any { // JSON numbers as the test expects them
		n, ok := v.(json.Number)
		if !ok {
			return v
		}
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, err := n.Float64()
		require.NoError(t, err)
		if f == float64(int64(f)) {
			return int64(f)
		}
		return f
	}
	for i, w := range want {
		r := rows[i]
		assert.Equal(t, "seed", r["session_id"], i)
		assert.Equal(t, w.signal, r["signal"], i)
		assert.Equal(t, w.name, r["name"], i)
		assert.Equal(t, w.traceID, r["trace_id"], i)
		assert.Equal(t, w.spanID, r["span_id"], i)
		assert.Equal(t, w.time, num(r["time_unix_nano"]), i)
		assert.Equal(t, w.phaseName, r["phase_name"], i)
		assert.Equal(t, w.phaseIndex, num(r["phase_index"]), i)
		assert.Equal(t, w.faultName, r["fault_name"], i)
		assert.Equal(t, w.faultRoot, r["fault_root_cause"], i)
		assert.Equal(t, "payments", r["label_team"], i)
	}

	// The same rows as the parquet export, column by column.
	out := filepath.Join(t.TempDir(), "seed.parquet")
	code, _, errw = sessionctl(t, "--dir", dir, "export", "seed", "--format", "parquet", "--out", out)
	require.Equal(t, 0, code, errw)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	pq, _ := readParquet(t, data)
	require.Len(t, pq, len(rows))
	for i := range pq {
		for col, v := range pq[i] {
			got := num(rows[i][col])
			if f, ok := v.(float64); ok && f == float64(int64(f)) {
				v = int64(f)
			}
			assert.Equal(t, v, got, "row %d column %s", i, col)
		}
	}
}

func TestExportBadObjects(t *testing.T) {
	dir, st := newStore(t)
	w := sessiontest.NewWriter(t, st, "cap", c0)
	w.Traces(c0, sessiontest.Traces("svc", 0, 4, c0))
	w.Raw(sessionstore.SignalTraces, c0.Add(time.Second), []byte("not gzip at all"))
	w.Traces(c0.Add(2*time.Second), sessiontest.Traces("svc", 1, 3, c0))
	w.Complete()

	for _, format := range []string{"jsonl", "parquet"} {
		out := filepath.Join(t.TempDir(), "cap."+format)
		code, _, errw := sessionctl(t, "--dir", dir, "export", "cap", "--format", format, "--out", out)
		assert.Equal(t, exitProblems, code, format)
		assert.Contains(t, errw, "traces-", format)
		assert.Contains(t, errw, "corrupt", format)
		assert.Contains(t, errw, "sessionctl: export: cap: 7 rows (7 spans, 0 data points, 0 log records) from 2 objects; 1 bad object skipped\n", format)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		if format == "parquet" {
			rows, _ := readParquet(t, data)
			assert.Len(t, rows, 7)
		} else {
			assert.Equal(t, 7, bytes.Count(data, []byte("\n")))
		}
	}
}

func TestExportUsage(t *testing.T) {
	dir, st := newStore(t)
	exportSeed(t, st, "seed")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "seed", "--format", "csv"}, `--format "csv": want jsonl or parquet`},
		{[]string{"export", "seed"}, `export needs --format jsonl or parquet`},
		{[]string{"export", "--format", "jsonl"}, `export needs one session id`},
		{[]string{"export", "nope", "--format", "jsonl"}, `no such session "nope"`},
		{[]string{"export", "../x", "--format", "jsonl"}, `invalid session id "../x"`},
		{[]string{"export", "seed", "--format", "parquet", "--row-group-rows", "0"}, `--row-group-rows 0: want at least 1`},
	} {
		code, out, errw := sessionctl(t, append([]string{"--dir", dir}, tc.args...)...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Empty(t, out, tc.args)
		assert.Contains(t, errw, tc.want, tc.args)
	}

	// Parquet is binary: not onto a terminal.
	var out, errw bytes.Buffer
	c := &cli{ctx: context.Background(), st: st, out: &out, errw: &errw, tty: true}
	assert.Equal(t, exitUsage, c.export([]string{"seed", "--format", "parquet"}))
	assert.Empty(t, out.String())
	assert.Contains(t, errw.String(), "parquet is binary: not written to a terminal (--out FILE, or redirect stdout)")
}

// A session without a phase table (a capture that recorded seed_gen's
// traffic without routing it) still gets its flag columns: a first pass
// over the data finds them.
func TestExportParquetFlagsFromData(t *testing.T) {
	dir, st := newStore(t)
	w := sessiontest.NewWriter(t, st, "cap", c0)
	for p := range exportPhases {
		td := sessiontest.Traces("checkout", p, 3, c0)
		groundTruth(td.ResourceSpans().At(0).Resource(), p)
		w.Traces(c0.Add(time.Duration(p)*time.Second), td)
	}
	w.Traces(c0.Add(5*time.Second), sessiontest.Traces("plain", 9, 2, c0))
	w.Complete()

	out := filepath.Join(t.TempDir(), "cap.parquet")
	code, _, errw := sessionctl(t, "--dir", dir, "export", "cap", "--format", "parquet", "--out", out)
	require.Equal(t, 0, code, errw)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	rows, _ := readParquet(t, data)
	require.Len(t, rows, 8)
	assert.Equal(t, "capture", rows[0]["session_type"])
	assert.Equal(t, 0.0, rows[0]["flag_paymentFailure"])
	assert.Equal(t, 0.75, rows[3]["flag_paymentFailure"])
	assert.Equal(t, 1.0, rows[3]["flag_checkout.slow"])
	assert.Equal(t, "failure", rows[3]["phase_name"])
	assert.Nil(t, rows[6]["flag_paymentFailure"], "a resource without flags")
	assert.Nil(t, rows[6]["phase_name"])
}

// A flag the phase table does not name has no column in parquet: the
// export says so, and jsonl carries it.
func TestExportFlagMissingFromPhaseTable(t *testing.T) {
	dir, st := newStore(t)
	m := exportSeed(t, st, "seed")
	for i := range m.Seed.Phases {
		delete(m.Seed.Phases[i].Flags, "checkout.slow")
	}
	require.NoError(t, sessionstore.WriteMetadata(context.Background(), st, m))

	out := filepath.Join(t.TempDir(), "seed.parquet")
	code, _, errw := sessionctl(t, "--dir", dir, "export", "seed", "--format", "parquet", "--out", out)
	require.Equal(t, 0, code, errw)
	assert.Contains(t, errw, "flags not in the metadata's phase table, left out of the columns: checkout.slow (26 rows)")
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	_, f := readParquet(t, data)
	_, ok := f.Schema().Lookup("flag_checkout.slow")
	assert.False(t, ok)

	code, stdout, errw := sessionctl(t, "--dir", dir, "export", "seed", "--format", "jsonl")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, 26, strings.Count(stdout, `"flag_checkout.slow":`))
}

// A later copy of an object (the same uuid) is exported once, as replay
// delivers it once.
func TestExportSkipsLaterCopies(t *testing.T) {
	dir, st := newStore(t)
	w := sessiontest.NewWriter(t, st, "cap", c0)
	key := w.Traces(c0, sessiontest.Traces("svc", 0, 4, c0))
	w.Complete()
	k, err := sessionstore.ParseObjectKey(key)
	require.NoError(t, err)
	k.CaptureTime = k.CaptureTime.Add(time.Second)
	_, err = sessionstore.CopyToSession(context.Background(), st, key, "cap")
	require.NoError(t, err)
	require.NoError(t, st.Copy(context.Background(), key, k.String()))

	code, stdout, errw := sessionctl(t, "--dir", dir, "export", "cap", "--format", "jsonl")
	require.Equal(t, 0, code, errw)
	assert.Equal(t, 4, strings.Count(stdout, "\n"))
	assert.Contains(t, errw, "4 rows (4 spans, 0 data points, 0 log records) from 1 object")
}

// TestExportAnnotatedPhases: a captured session's items carry no phase;
// annotated, each row takes the phase whose range of event time holds its
// time ([start, end)), and a row in none has none.
func TestExportAnnotatedPhases(t *testing.T) {
	dir, st := newStore(t)
	c0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	w := sessiontest.NewWriter(t, st, "cap", c0)
	for i := range 6 { // one span a second
		at := c0.Add(time.Duration(i) * time.Second)
		w.Traces(at, sessiontest.Traces("svc", i, 1, at))
	}
	w.Complete()
	code, _, errw := sessionctl(t, "--dir", dir, "annotate", "cap", "--phase", "incident=2s..4s")
	require.Equal(t, 0, code, errw)

	code, stdout, errw := sessionctl(t, "--dir", dir, "export", "cap", "--format", "jsonl")
	require.Equal(t, 0, code, errw)
	var phases []any
	for line := range strings.Lines(stdout) {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		phases = append(phases, r["phase_name"])
	}
	assert.Equal(t, []any{nil, nil, "incident", "incident", nil, nil}, phases)
}
