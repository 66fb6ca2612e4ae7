package pdatawalk_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
)

// TestChunk: a batch cut into batches of at most n items keeps every item
// once, in order, each under a copy of its resource and scope (a metric
// under a copy of its shape), and leaves the batch as it was.
func TestChunk(t *testing.T) {
	td := ptrace.NewTraces()
	for r := range 2 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r))
		for s := range 2 {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(fmt.Sprintf("scope-%d", s))
			for i := range 5 {
				ss.Spans().AppendEmpty().SetName(fmt.Sprintf("%d/%d/%d", r, s, i))
			}
		}
	}
	parts := pdatawalk.ChunkTraces(td, 7)
	var sizes []int
	var names []string
	for _, p := range parts {
		sizes = append(sizes, p.SpanCount())
		for _, rs := range p.ResourceSpans().All() {
			svc, _ := rs.Resource().Attributes().Get("service.name")
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					assert.Equal(t, sp.Name()[:1], svc.Str()[4:], "span %s under its resource", sp.Name())
					assert.Equal(t, sp.Name()[2:3], ss.Scope().Name()[6:], "span %s under its scope", sp.Name())
					names = append(names, sp.Name())
				}
			}
		}
	}
	assert.Equal(t, []int{7, 7, 6}, sizes)
	assert.Len(t, names, 20)
	assert.Equal(t, "0/0/0", names[0])
	assert.Equal(t, "1/1/4", names[19])
	assert.Equal(t, 20, td.SpanCount(), "the batch is unchanged")

	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("latency")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	for i := range 10 {
		h.DataPoints().AppendEmpty().SetCount(uint64(i))
	}
	var counts []uint64
	for _, p := range pdatawalk.ChunkMetrics(md, 4) {
		pm := p.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
		assert.Equal(t, "latency", pm.Name())
		assert.Equal(t, pmetric.AggregationTemporalityDelta, pm.Histogram().AggregationTemporality())
		for _, dp := range pm.Histogram().DataPoints().All() {
			counts = append(counts, dp.Count())
		}
	}
	assert.Equal(t, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, counts)

	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i := range 5 {
		sl.LogRecords().AppendEmpty().Body().SetInt(int64(i))
	}
	var logSizes []int
	for _, p := range pdatawalk.ChunkLogs(ld, 2) {
		logSizes = append(logSizes, p.LogRecordCount())
	}
	assert.Equal(t, []int{2, 2, 1}, logSizes)
}
