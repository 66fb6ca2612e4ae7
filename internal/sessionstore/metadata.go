package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Status is the lifecycle state recorded in metadata.json.
type Status string

// Session states.
const (
	StatusActive    Status = "active"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
)

// SessionType tells captured sessions from synthesized ones.
type SessionType string

// Session types.
const (
	SessionTypeCapture SessionType = "capture"
	SessionTypeSeed    SessionType = "seed"
	// SessionTypeTraining is a type of the original tooling's sessions
	// (training data sets); this project reads it and never writes it.
	SessionTypeTraining SessionType = "training"
)

// Metadata is the content of sessions/{id}/metadata.json. The first block of
// fields is the original tooling's schema, kept with the same names, meanings
// and values so existing readers keep working; the rest is ours.
type Metadata struct {
	SessionID           string     `json:"sessionId"`
	DiagnosticSessionID string     `json:"diagnosticSessionId,omitempty"`
	StartTime           time.Time  `json:"startTime"`
	EndTime             *time.Time `json:"endTime,omitempty"`
	Status              Status     `json:"status"`
	EnabledFlags        []string   `json:"enabledFlags"`
	CapturedTraces      int64      `json:"capturedTraces"`  // spans
	CapturedMetrics     int64      `json:"capturedMetrics"` // data points
	CapturedLogs        int64      `json:"capturedLogs"`    // log records
	TotalSizeBytes      int64      `json:"totalSizeBytes"`  // stored (compressed) bytes of data objects
	S3Prefix            string     `json:"s3Prefix"`        // sessions/{id}, relative to the store root
	CreatedBy           string     `json:"createdBy"`
	Description         string     `json:"description,omitempty"`

	SchemaVersion  int                     `json:"schemaVersion"`
	SessionType    SessionType             `json:"sessionType"`
	Labels         map[string]string       `json:"labels,omitempty"`
	UpdatedTime    time.Time               `json:"updatedTime"`
	EventTimeRange *TimeRange              `json:"eventTimeRange,omitempty"`
	Signals        map[Signal]*SignalStats `json:"signals"`
	Seed           *SeedInfo               `json:"seed,omitempty"`
	// LostItems counts, per signal, the items a writer accepted and could
	// not store; a session that lost data says status failed.
	LostItems *LostItems `json:"lostItems,omitempty"`
	// DroppedItems counts, per signal, the items a writer accepted and
	// dropped because its sending queue was full (backpressure: drop: the
	// pipeline went on without waiting for the store); a session that
	// dropped data says status failed.
	DroppedItems *ItemCounts `json:"droppedItems,omitempty"`
	// Snapshot, for a session saved from a flight recorder's rolling
	// session, names that session and the window saved.
	Snapshot *SnapshotInfo `json:"snapshot,omitempty"`
	// ExtractedFrom, for a session cut out of other sessions by
	// `sessionctl extract`, names the window of capture times and the
	// sessions its objects were copied from.
	ExtractedFrom *ExtractInfo `json:"extractedFrom,omitempty"`
	// Sampling counts the spans that carry a sampler's decision by the
	// share of traces it kept (see SamplingShare), sorted by threshold.
	Sampling []SamplingShare `json:"sampling,omitempty"`
	// QueuedItems counts, per signal, the items a writer accepted that
	// still wait in its persistent sending queue (it stopped before storing
	// them): the session stays active until a later run of that writer
	// stores them.
	QueuedItems *ItemCounts `json:"queuedItems,omitempty"`
	// NeedsRecount says that some writer continued the session after a
	// crash while another writer was live, so its share could not be
	// recounted then: the writer that completes the session recounts its
	// objects first (and `sessionctl verify --repair` does at any time).
	NeedsRecount bool `json:"needsRecount,omitempty"`
	// Instance, in a writer's own view only, names the run of the
	// collector that wrote it: two live collectors sharing one writer id
	// see each other's runs in the file (never in metadata.json).
	Instance string `json:"instance,omitempty"`
	// LostPieces, in a writer's own view only, names the pieces of
	// accepted requests it counted lost while its sending queue was
	// persistent: if the queue delivers such a piece again (its request
	// was kept for another piece, or the collector died before the queue
	// let it go) and it is stored, it is no longer lost.
	LostPieces []LostPiece `json:"lostPieces,omitempty"`
	// Annotations are what people added to the session after it was
	// captured (phases by event time, labels, flags, notes), never in a
	// writer's view: see Annotate.
	Annotations *Annotations `json:"annotations,omitempty"`
}

// SnapshotInfo says where a snapshot session comes from: the recorder's
// rolling session and the window of acceptance times it holds.
type SnapshotInfo struct {
	Recorder string    `json:"recorder"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
}

// ExtractInfo says where an extracted session comes from: the window of
// capture times [From, To) cut out of the sessions listed.
type ExtractInfo struct {
	From     time.Time          `json:"from"`
	To       time.Time          `json:"to"`
	Sessions []ExtractedSession `json:"sessions"`
}

// ExtractedSession is what an extract took from one session: the objects
// of the window copied and the items they hold, and those it left out.
type ExtractedSession struct {
	Session string `json:"session"`
	// Status is the session's status when it was extracted from ("" when
	// it had no readable metadata.json).
	Status      Status     `json:"status,omitempty"`
	Objects     int64      `json:"objects"`
	Items       ItemCounts `json:"items"`
	StoredBytes int64      `json:"storedBytes"`
	// BadObjects could not be read as data objects of their signal
	// (corrupt, or over the decompressed size cap) and were not copied.
	BadObjects int64 `json:"badObjects,omitempty"`
	// Duplicates are objects whose uuid an object copied earlier had (the
	// same batch stored twice); they were not copied.
	Duplicates int64 `json:"duplicates,omitempty"`
	// Gone are objects listed in the window and deleted before they could
	// be copied (by a rolling session, or a prune).
	Gone int64 `json:"gone,omitempty"`
}

// LostPiece is a piece of an accepted request that a writer counted lost:
// its name (request id and position, hex), signal and items.
type LostPiece struct {
	Name   string `json:"name"`
	Signal Signal `json:"signal"`
	Items  int64  `json:"items"`
}

// ItemCounts counts items per signal.
type ItemCounts struct {
	Traces  int64 `json:"traces"`  // spans
	Metrics int64 `json:"metrics"` // data points
	Logs    int64 `json:"logs"`    // log records
}

// LostItems counts items lost per signal.
type LostItems = ItemCounts

// Of returns the count of signal.
func (c *ItemCounts) Of(signal Signal) int64 {
	if c == nil {
		return 0
	}
	switch signal {
	case SignalTraces:
		return c.Traces
	case SignalMetrics:
		return c.Metrics
	case SignalLogs:
		return c.Logs
	}
	return 0
}

// Total returns the count over all signals.
func (c *ItemCounts) Total() int64 {
	if c == nil {
		return 0
	}
	return c.Traces + c.Metrics + c.Logs
}

// CountsOf returns per-signal counts as ItemCounts, or nil when all are
// zero (so that the field is left out of the JSON).
func CountsOf(of func(Signal) int64) *ItemCounts {
	c := ItemCounts{Traces: of(SignalTraces), Metrics: of(SignalMetrics), Logs: of(SignalLogs)}
	if c.Total() == 0 {
		return nil
	}
	return &c
}

// TimeRange is an inclusive span of event time.
type TimeRange struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// SignalStats counts what a session stores for one signal.
type SignalStats struct {
	Objects          int64      `json:"objects"`
	Items            int64      `json:"items"`
	Bytes            int64      `json:"bytes"`           // uncompressed protobuf
	CompressedBytes  int64      `json:"compressedBytes"` // as stored
	FirstCaptureTime *time.Time `json:"firstCaptureTime,omitempty"`
	LastCaptureTime  *time.Time `json:"lastCaptureTime,omitempty"`
}

// SeedInfo describes how a seed session was generated.
type SeedInfo struct {
	Pattern         string  `json:"pattern"`
	Seed            int64   `json:"seed"`
	TracesPerSecond float64 `json:"tracesPerSecond"`
	ErrorRate       float64 `json:"errorRate"`
	Duration        string  `json:"duration"`
	Phases          []Phase `json:"phases"`
}

// Phase is one row of a seed session's phase table.
type Phase struct {
	Name  string             `json:"name"`
	Index int                `json:"index"`
	Start time.Time          `json:"start"`
	End   time.Time          `json:"end"`
	Flags map[string]float64 `json:"flags"`
	Items int64              `json:"items"` // spans + data points + log records
}

// NewMetadata returns the metadata of a session that opens now.
func NewMetadata(id string, typ SessionType, start time.Time, createdBy string) *Metadata {
	start = start.UTC()
	return &Metadata{
		SessionID:     id,
		StartTime:     start,
		Status:        StatusActive,
		EnabledFlags:  []string{},
		S3Prefix:      strings.TrimSuffix(SessionPrefix(id), "/"),
		CreatedBy:     createdBy,
		SchemaVersion: SchemaVersion,
		SessionType:   typ,
		UpdatedTime:   start,
		Signals:       map[Signal]*SignalStats{},
	}
}

// Add records one stored object in the counts.
func (m *Metadata) Add(signal Signal, captureTime time.Time, items, rawBytes, storedBytes int64) {
	st := m.Signals[signal]
	if st == nil {
		st = &SignalStats{}
		m.Signals[signal] = st
	}
	st.Objects++
	st.Items += items
	st.Bytes += rawBytes
	st.CompressedBytes += storedBytes
	ct := captureTime.UTC()
	if !m.StartTime.IsZero() && ct.Before(m.StartTime) {
		m.StartTime = ct // a batch that waited in a queue arrived before the session opened
	}
	if st.FirstCaptureTime == nil || ct.Before(*st.FirstCaptureTime) {
		st.FirstCaptureTime = &ct
	}
	if st.LastCaptureTime == nil || ct.After(*st.LastCaptureTime) {
		st.LastCaptureTime = &ct
	}
	switch signal {
	case SignalTraces:
		m.CapturedTraces += items
	case SignalMetrics:
		m.CapturedMetrics += items
	case SignalLogs:
		m.CapturedLogs += items
	}
	m.TotalSizeBytes += storedBytes
}

// Remove takes one deleted object out of the counts (a rolling session
// deletes its oldest objects): oldestLeft is the capture time of the
// oldest object of signal still stored (nil: none).
func (m *Metadata) Remove(signal Signal, items, rawBytes, storedBytes int64, oldestLeft *time.Time) {
	st := m.Signals[signal]
	if st == nil {
		return
	}
	st.Objects = max(0, st.Objects-1)
	st.Items = max(0, st.Items-items)
	st.Bytes = max(0, st.Bytes-rawBytes)
	st.CompressedBytes = max(0, st.CompressedBytes-storedBytes)
	if oldestLeft == nil {
		st.FirstCaptureTime, st.LastCaptureTime = nil, nil
	} else {
		t := oldestLeft.UTC()
		st.FirstCaptureTime = &t
	}
	switch signal {
	case SignalTraces:
		m.CapturedTraces = max(0, m.CapturedTraces-items)
	case SignalMetrics:
		m.CapturedMetrics = max(0, m.CapturedMetrics-items)
	case SignalLogs:
		m.CapturedLogs = max(0, m.CapturedLogs-items)
	}
	m.TotalSizeBytes = max(0, m.TotalSizeBytes-storedBytes)
}

// ExtendEventTime widens the event time range to include [start, end].
// Zero times are ignored.
func (m *Metadata) ExtendEventTime(start, end time.Time) {
	if start.IsZero() || end.IsZero() {
		return
	}
	start, end = start.UTC(), end.UTC()
	if m.EventTimeRange == nil {
		m.EventTimeRange = &TimeRange{Start: start, End: end}
		return
	}
	if start.Before(m.EventTimeRange.Start) {
		m.EventTimeRange.Start = start
	}
	if end.After(m.EventTimeRange.End) {
		m.EventTimeRange.End = end
	}
}

// Clone returns a deep copy, so a snapshot can be written while counting goes on.
func (m *Metadata) Clone() *Metadata {
	data, err := json.Marshal(m)
	if err != nil {
		panic(err) // only plain data types: cannot fail
	}
	var out Metadata
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return &out
}

// Incomplete reports whether a writer counted accepted items that the
// session does not hold: lost or dropped.
func (m *Metadata) Incomplete() bool {
	return m.LostItems.Total() > 0 || m.DroppedItems.Total() > 0
}

// Items returns the total number of spans, data points and log records.
func (m *Metadata) Items() int64 { return m.CapturedTraces + m.CapturedMetrics + m.CapturedLogs }

// ErrUnsupportedVersion reports a metadata.json of a schemaVersion this
// build does not know (written by a newer release): it is neither read nor
// ever rewritten.
var ErrUnsupportedVersion = errors.New("unsupported metadata schema version")

// maxMetadataBytes caps how much of a metadata.json is read.
const maxMetadataBytes = 8 << 20

// WriteMetadata stores m as the session's metadata.json, with the
// session's annotations (see Annotate) over it: so a writer's rewrite from
// its views keeps them.
func WriteMetadata(ctx context.Context, s Store, m *Metadata) error {
	_, err := writeMetadata(ctx, s, m)
	return err
}

// writeMetadata is WriteMetadata; it returns the annotations it wrote. An
// unreadable stored annotation is left out (Annotate refuses to store
// one; only a hand-made object can be).
func writeMetadata(ctx context.Context, s Store, m *Metadata) (*Annotations, error) {
	if err := ValidateSessionID(m.SessionID); err != nil {
		return nil, err
	}
	a, err := ReadAnnotations(ctx, s, m.SessionID)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return nil, fmt.Errorf("write metadata of session %s: %w", m.SessionID, err)
	}
	m.overlay(a)
	if m.EnabledFlags == nil {
		m.EnabledFlags = []string{}
	}
	if m.Signals == nil {
		m.Signals = map[Signal]*SignalStats{}
	}
	m.S3Prefix = s.KeyPrefix() + strings.TrimSuffix(SessionPrefix(m.SessionID), "/")
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode metadata of session %s: %w", m.SessionID, err)
	}
	return a, s.Put(ctx, MetadataKey(m.SessionID), append(data, '\n'))
}

// ReadMetadata loads a session's metadata.json.
func ReadMetadata(ctx context.Context, s Store, id string) (*Metadata, error) {
	return readMetadataKey(ctx, s, id, MetadataKey(id))
}

// ReadMetadataBytes returns a session's metadata.json as stored, unparsed,
// for callers that pass it on unchanged (the control API): the id is
// validated and the read bounded as for ReadMetadata. A missing file
// matches ErrNotFound.
func ReadMetadataBytes(ctx context.Context, s Store, id string) ([]byte, error) {
	if err := ValidateSessionID(id); err != nil {
		return nil, err
	}
	return readMetadataBytes(ctx, s, MetadataKey(id))
}

// readMetadataBytes reads the metadata file under key, at most
// maxMetadataBytes of it.
func readMetadataBytes(ctx context.Context, s Store, key string) ([]byte, error) {
	return readBounded(ctx, s, key, maxMetadataBytes)
}

// readMetadataKey loads the metadata of session id stored under key (its
// metadata.json, or a writer's file).
func readMetadataKey(ctx context.Context, s Store, id, key string) (*Metadata, error) {
	if err := ValidateSessionID(id); err != nil {
		return nil, err
	}
	data, err := readMetadataBytes(ctx, s, key)
	if err != nil {
		return nil, err
	}
	var m Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: decode %s: %w", ErrCorrupt, key, err)
	}
	switch {
	case m.SchemaVersion < 0:
		return nil, fmt.Errorf("%w: decode %s: schemaVersion is %d", ErrCorrupt, key, m.SchemaVersion)
	case m.SchemaVersion == 0: // the original tooling's metadata: version 1 without the field
		m.SchemaVersion = SchemaVersion
	case m.SchemaVersion == SchemaVersion:
	default:
		return nil, fmt.Errorf("%w: %s has schemaVersion %d, this build reads %d: a newer release wrote it; use that release (the file is left as it is)",
			ErrUnsupportedVersion, key, m.SchemaVersion, SchemaVersion)
	}
	if m.SessionType == "" { // the original tooling's metadata: infer it from the id
		m.SessionType = SessionTypeCapture
		for _, t := range []SessionType{SessionTypeSeed, SessionTypeCapture, SessionTypeTraining} {
			if strings.HasPrefix(id, string(t)+"-") {
				m.SessionType = t
			}
		}
	}
	if m.SessionID != id {
		return nil, fmt.Errorf("%w: decode %s: sessionId is %q, want %q", ErrCorrupt, key, m.SessionID, id)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: decode %s: %w", ErrCorrupt, key, err)
	}
	if m.Signals == nil {
		m.Signals = map[Signal]*SignalStats{}
	}
	return &m, nil
}

// maxCount bounds every count in a metadata file: 2^53-1, the largest
// integer that JSON readers in other languages hold exactly, and far past
// any session, so that merging the counts of many writers cannot overflow.
const maxCount = 1<<53 - 1

// check refuses what JSON decoding lets through and no writer writes, so
// that every reader (and the merge of writers' views) can take the fields
// as they are: a signal without stats (null) or unknown to this build, a
// count below zero or past maxCount, a time outside the years 0 to 9999 in
// UTC (it could not be written again). The error names each bad field.
func (m *Metadata) check() error {
	var errs []error
	count := func(field string, v int64) {
		if v < 0 || v > maxCount {
			errs = append(errs, fmt.Errorf("%s is %d, not a count (0 to %d)", field, v, int64(maxCount)))
		}
	}
	instant := func(field string, t time.Time) {
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			errs = append(errs, fmt.Errorf("%s %s is out of range (years 0 to 9999 in UTC)", field, t.Format(time.RFC3339Nano)))
		}
	}
	count("capturedTraces", m.CapturedTraces)
	count("capturedMetrics", m.CapturedMetrics)
	count("capturedLogs", m.CapturedLogs)
	count("totalSizeBytes", m.TotalSizeBytes)
	instant("startTime", m.StartTime)
	instant("updatedTime", m.UpdatedTime)
	if m.EndTime != nil {
		instant("endTime", *m.EndTime)
	}
	if r := m.EventTimeRange; r != nil {
		instant("eventTimeRange.start", r.Start)
		instant("eventTimeRange.end", r.End)
	}
	for _, sig := range slices.Sorted(maps.Keys(m.Signals)) {
		st, field := m.Signals[sig], "signals."+string(sig)
		switch {
		case !sig.Valid():
			errs = append(errs, fmt.Errorf("signals: unknown signal %q (want %q, %q or %q)", sig, SignalTraces, SignalMetrics, SignalLogs))
			continue
		case st == nil:
			errs = append(errs, fmt.Errorf("%s is null", field))
			continue
		}
		count(field+".objects", st.Objects)
		count(field+".items", st.Items)
		count(field+".bytes", st.Bytes)
		count(field+".compressedBytes", st.CompressedBytes)
		if st.FirstCaptureTime != nil {
			instant(field+".firstCaptureTime", *st.FirstCaptureTime)
		}
		if st.LastCaptureTime != nil {
			instant(field+".lastCaptureTime", *st.LastCaptureTime)
		}
	}
	if l := m.LostItems; l != nil {
		count("lostItems.traces", l.Traces)
		count("lostItems.metrics", l.Metrics)
		count("lostItems.logs", l.Logs)
	}
	errs = append(errs, m.checkSampling(count)...)
	if d := m.DroppedItems; d != nil {
		count("droppedItems.traces", d.Traces)
		count("droppedItems.metrics", d.Metrics)
		count("droppedItems.logs", d.Logs)
	}
	for i, p := range m.LostPieces {
		if !p.Signal.Valid() {
			errs = append(errs, fmt.Errorf("lostPieces[%d]: unknown signal %q", i, p.Signal))
		}
		count(fmt.Sprintf("lostPieces[%d].items", i), p.Items)
	}
	if q := m.QueuedItems; q != nil {
		count("queuedItems.traces", q.Traces)
		count("queuedItems.metrics", q.Metrics)
		count("queuedItems.logs", q.Logs)
	}
	if x := m.ExtractedFrom; x != nil {
		instant("extractedFrom.from", x.From)
		instant("extractedFrom.to", x.To)
		for i, src := range x.Sessions {
			field := fmt.Sprintf("extractedFrom.sessions[%d]", i)
			count(field+".objects", src.Objects)
			count(field+".storedBytes", src.StoredBytes)
			count(field+".items.traces", src.Items.Traces)
			count(field+".items.metrics", src.Items.Metrics)
			count(field+".items.logs", src.Items.Logs)
			count(field+".badObjects", src.BadObjects)
			count(field+".duplicates", src.Duplicates)
			count(field+".gone", src.Gone)
		}
	}
	if m.Seed != nil {
		for i, p := range m.Seed.Phases {
			field := fmt.Sprintf("seed.phases[%d]", i)
			count(field+".items", p.Items)
			instant(field+".start", p.Start)
			instant(field+".end", p.End)
		}
	}
	return errors.Join(errs...)
}

// ErrCaseConflict reports a new session id that differs from an existing
// one only by case.
var ErrCaseConflict = errors.New("session id differs from an existing one only by case")

// CheckCaseConflict refuses id if the store holds a session whose id differs
// from it only by case ("Run1" next to "run1"): on a case-insensitive
// filesystem (macOS, Windows, many NAS mounts) the two are one directory,
// and sessions move between stores. The error names both ids and is
// permanent.
func CheckCaseConflict(ctx context.Context, s Store, id string) error {
	prefixes, err := s.ListPrefixes(ctx, sessionsDir)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	for _, p := range prefixes {
		other := strings.TrimSuffix(strings.TrimPrefix(p, sessionsDir), "/")
		if other != id && strings.EqualFold(other, id) {
			return Permanent(fmt.Errorf("%w: %q next to %q (one directory on case-insensitive filesystems); use another id",
				ErrCaseConflict, id, other))
		}
	}
	return nil
}

// ErrSessionExists reports a new session's id that a session in the store
// has already.
var ErrSessionExists = errors.New("exists already")

// CheckNewSessionID is the one check of a new session's id, for every
// component and command that makes one (the control API's new sessions,
// snapshots, sessionctl extract): it must be a valid id (ValidateSessionID),
// not taken (a metadata.json is there, readable or not: wrapping
// ErrSessionExists) and not differ only by case from an existing session's
// (wrapping ErrCaseConflict). Other errors are the store's.
func CheckNewSessionID(ctx context.Context, s Store, id string) error {
	if err := ValidateSessionID(id); err != nil {
		return err
	}
	switch _, err := ReadMetadata(ctx, s, id); {
	case err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupportedVersion):
		return fmt.Errorf("session %s %w", id, ErrSessionExists)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("session %s: read metadata: %w", id, err)
	}
	if err := CheckCaseConflict(ctx, s, id); err != nil {
		return fmt.Errorf("session %s: %w", id, err)
	}
	return nil
}

// SessionInfo is one entry of a session listing.
type SessionInfo struct {
	ID       string
	Metadata *Metadata // nil when Err is set
	Err      error     // why the metadata could not be read
}

// ListSessions lists the sessions in the store with their metadata: one
// delimiter listing of sessions/, then the metadata.json of each (a few at a
// time), never a walk over the raw objects. Entries are sorted by id.
func ListSessions(ctx context.Context, s Store) ([]SessionInfo, error) {
	prefixes, err := s.ListPrefixes(ctx, sessionsDir)
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, 0, len(prefixes))
	for _, p := range prefixes {
		id := strings.TrimSuffix(strings.TrimPrefix(p, sessionsDir), "/")
		if ValidateSessionID(id) != nil {
			continue // not ours: never created by a component
		}
		out = append(out, SessionInfo{ID: id})
	}
	// Store order puts "a-2/" before "a/"; callers want ids in order.
	slices.SortFunc(out, func(a, b SessionInfo) int { return strings.Compare(a.ID, b.ID) })
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range out {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i].Metadata, out[i].Err = ReadMetadata(ctx, s, out[i].ID)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
