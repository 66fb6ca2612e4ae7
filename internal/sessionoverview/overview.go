// Package sessionoverview reads what a session holds for people to look
// at: items over capture time per signal, services with their errors,
// phases with their error share, objects (and bad ones) and writers. It
// reads the session's objects, at most a bounded number of them.
package sessionoverview // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionoverview"

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// Options bound what an overview reads.
type Options struct {
	// Buckets divide the capture time range of the timeline (default 60).
	Buckets int
	// MaxObjects is how many objects are read at most (default 2000): of
	// a session with more, one object in k is read, k as small as fits.
	MaxObjects int
	// MaxObjectBytes caps the decompressed size of one object (default
	// sessionstore.DefaultRecountObjectBytes); a larger one is bad.
	MaxObjectBytes int64
}

// maxBadKeys bounds the bad objects an overview names.
const maxBadKeys = 100

// Overview is what a session holds, for a page.
type Overview struct {
	Session string `json:"session"`
	// Clock is the time the timeline runs on: event_time, the items' own
	// times over the session's event time range (metadata.json's
	// eventTimeRange), or capture_time, when each object was captured, for
	// a session whose metadata has no event time range. A seed made with
	// clock: fast is captured in an instant: only its event time shows
	// where its traffic rose.
	Clock string `json:"clock"`
	// From and To are the ends of the timeline.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// BucketMillis is the width of a timeline bucket; Timeline counts the
	// items of the objects read, per signal, per bucket from From (an item
	// outside [From, To] in its first or last bucket).
	BucketMillis int64                           `json:"bucket_ms"`
	Timeline     map[sessionstore.Signal][]int64 `json:"timeline"`
	// Sampled is 1 when every object was read, k when one in k was.
	Sampled int `json:"sampled"`
	// Objects and StoredBytes are of every object listed.
	Objects     map[sessionstore.Signal]int64 `json:"objects"`
	StoredBytes int64                         `json:"stored_bytes"`
	// BadObjects could not be read as data of their signal; BadKeys names
	// the first of them.
	BadObjects int64     `json:"bad_objects"`
	BadKeys    []string  `json:"bad_keys,omitempty"`
	Services   []Service `json:"services"`
	Phases     []Phase   `json:"phases"`
	Writers    []Writer  `json:"writers"`
}

// Service is what the objects read hold of one service.name.
type Service struct {
	Name       string `json:"name"`
	Spans      int64  `json:"spans,omitempty"`
	ErrorSpans int64  `json:"error_spans,omitempty"`
	DataPoints int64  `json:"data_points,omitempty"`
	LogRecords int64  `json:"log_records,omitempty"`
	ErrorLogs  int64  `json:"error_logs,omitempty"`
}

// Phase is what the objects read hold of one test.phase.name: its items,
// and of them the errors (spans with status error, log records of
// severity error or worse).
type Phase struct {
	Name   string `json:"name"`
	Items  int64  `json:"items"`
	Errors int64  `json:"errors"`
}

// Writer is one writer's view of the session.
type Writer struct {
	ID      string              `json:"id"`
	Status  sessionstore.Status `json:"status"`
	Updated time.Time           `json:"updated"`
	Items   int64               `json:"items"`
}

// Compute reads the overview of session id in st: one listing to size it,
// another to read the objects (every one, or one in k past MaxObjects).
func Compute(ctx context.Context, st sessionstore.Store, id string, opts Options) (*Overview, error) {
	opts.Buckets = cmp.Or(opts.Buckets, 60)
	opts.MaxObjects = cmp.Or(opts.MaxObjects, 2000)
	opts.MaxObjectBytes = cmp.Or(opts.MaxObjectBytes, sessionstore.DefaultRecountObjectBytes)
	m, err := sessionstore.ReadMetadata(ctx, st, id)
	if err != nil {
		return nil, err
	}
	o := &Overview{Session: id, Clock: "capture_time", Objects: map[sessionstore.Signal]int64{}, Timeline: map[sessionstore.Signal][]int64{},
		Services: []Service{}, Phases: []Phase{}, Writers: []Writer{}}
	total := 0
	for obj, err := range sessionstore.ListObjects(ctx, st, id) {
		if err != nil {
			return nil, err
		}
		if total == 0 || obj.CaptureTime.Before(o.From) {
			o.From = obj.CaptureTime
		}
		if obj.CaptureTime.After(o.To) {
			o.To = obj.CaptureTime
		}
		o.Objects[obj.Signal]++
		o.StoredBytes += obj.Size
		total++
	}
	if r := m.EventTimeRange; r != nil && r.End.After(r.Start) {
		o.Clock, o.From, o.To = "event_time", r.Start.UTC(), r.End.UTC()
	}
	o.Sampled = max(1, (total+opts.MaxObjects-1)/opts.MaxObjects)
	span := o.To.Sub(o.From).Milliseconds()
	o.BucketMillis = max(1, (span+int64(opts.Buckets)-1)/int64(opts.Buckets))
	for sig := range o.Objects {
		o.Timeline[sig] = make([]int64, opts.Buckets)
	}
	c := counter{services: map[string]*Service{}, phases: map[string]*Phase{}, o: o, buckets: opts.Buckets}
	i := 0
	for obj, err := range sessionstore.ListObjects(ctx, st, id) {
		if err != nil {
			return nil, err
		}
		i++
		if (i-1)%o.Sampled != 0 {
			continue
		}
		b, _, err := sessionstore.ReadObject(ctx, st, obj, opts.MaxObjectBytes)
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, sessionstore.ErrCorrupt) && !sessionstore.IsPermanent(err) {
				return nil, err
			}
			o.BadObjects++
			if len(o.BadKeys) < maxBadKeys {
				o.BadKeys = append(o.BadKeys, obj.Key)
			}
			continue
		}
		c.add(b, obj.CaptureTime)
	}
	o.Services = sortedValues(c.services, func(s *Service) string { return s.Name })
	o.Phases = sortedValues(c.phases, func(p *Phase) string { return p.Name })
	views, err := sessionstore.ReadWriters(ctx, st, id)
	if err != nil && !errors.Is(err, sessionstore.ErrCorrupt) {
		return nil, err
	}
	for _, w := range slices.Sorted(maps.Keys(views)) {
		v := views[w]
		o.Writers = append(o.Writers, Writer{ID: w, Status: v.Status, Updated: v.UpdatedTime, Items: v.Items()})
	}
	return o, nil
}

func sortedValues[T any](m map[string]*T, name func(*T) string) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(name(&a), name(&b)) })
	return out
}

// counter adds up services, phases and the timeline over the batches read.
type counter struct {
	services map[string]*Service
	phases   map[string]*Phase
	o        *Overview
	buckets  int
	signal   sessionstore.Signal
	captured time.Time // of the object being counted
}

// tick counts an item in the timeline: at its event time on the event
// time clock (the object's capture time for an item without one).
func (c *counter) tick(ts pcommon.Timestamp) {
	at := c.captured
	if c.o.Clock == "event_time" && ts != 0 {
		at = ts.AsTime()
	}
	i := int(at.Sub(c.o.From).Milliseconds() / c.o.BucketMillis)
	c.o.Timeline[c.signal][max(0, min(i, c.buckets-1))]++
}

func (c *counter) service(res pcommon.Resource) *Service {
	name := "unknown"
	if v, ok := res.Attributes().Get("service.name"); ok {
		name = v.AsString()
	}
	s := c.services[name]
	if s == nil {
		s = &Service{Name: name}
		c.services[name] = s
	}
	return s
}

// phase counts an item (and an error) in its phase: the item's
// test.phase.name, else its resource's; an item of none is not counted.
func (c *counter) phase(res pcommon.Resource, attrs pcommon.Map, n int64, failed bool) {
	v, ok := attrs.Get(sessionstore.AttrPhaseName)
	if !ok {
		if v, ok = res.Attributes().Get(sessionstore.AttrPhaseName); !ok {
			return
		}
	}
	p := c.phases[v.AsString()]
	if p == nil {
		p = &Phase{Name: v.AsString()}
		c.phases[p.Name] = p
	}
	p.Items += n
	if failed {
		p.Errors += n
	}
}

func (c *counter) add(b sessionstore.Batch, captured time.Time) {
	c.signal, c.captured = b.Signal, captured
	switch b.Signal {
	case sessionstore.SignalTraces:
		for at, sp := range pdatawalk.Spans(b.Traces) {
			failed := sp.Status().Code() == ptrace.StatusCodeError
			c.tick(sp.StartTimestamp())
			s := c.service(at.Resource)
			s.Spans++
			if failed {
				s.ErrorSpans++
			}
			c.phase(at.Resource, sp.Attributes(), 1, failed)
		}
	case sessionstore.SignalLogs:
		for at, lr := range pdatawalk.LogRecords(b.Logs) {
			failed := lr.SeverityNumber() >= plog.SeverityNumberError
			c.tick(cmp.Or(lr.Timestamp(), lr.ObservedTimestamp()))
			s := c.service(at.Resource)
			s.LogRecords++
			if failed {
				s.ErrorLogs++
			}
			c.phase(at.Resource, lr.Attributes(), 1, failed)
		}
	case sessionstore.SignalMetrics:
		for at, m := range pdatawalk.Metrics(b.Metrics) {
			s := c.service(at.Resource)
			count := func(attrs pcommon.Map, ts pcommon.Timestamp) {
				c.tick(ts)
				s.DataPoints++
				c.phase(at.Resource, attrs, 1, false)
			}
			pdatawalk.VisitPoints(m, pdatawalk.PointVisitor{
				Number:       func(p pmetric.NumberDataPoint) { count(p.Attributes(), p.Timestamp()) },
				Histogram:    func(p pmetric.HistogramDataPoint) { count(p.Attributes(), p.Timestamp()) },
				ExpHistogram: func(p pmetric.ExponentialHistogramDataPoint) { count(p.Attributes(), p.Timestamp()) },
				Summary:      func(p pmetric.SummaryDataPoint) { count(p.Attributes(), p.Timestamp()) },
			})
		}
	}
}
