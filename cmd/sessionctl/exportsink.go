package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// rowSink writes the rows of an export in one format.
type rowSink interface {
	write(r *exportRow) error
	// close writes what is buffered (parquet: the last row group and the
	// footer); the sink is unusable after.
	close() error
}

// jsonlSink writes a JSON object per row and line: the columns of
// exportRow, then the item's flags (flag_<name>) and the session's labels
// (label_<key>).
type jsonlSink struct {
	w      *bufio.Writer
	labels []byte // ,"label_k":"v"... once for every row
	names  []string
	buf    []byte
}

func newJSONLSink(w io.Writer, labels map[string]string) (*jsonlSink, error) {
	s := &jsonlSink{w: bufio.NewWriterSize(w, 64<<10)}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		var err error
		if s.labels, err = appendJSONField(s.labels, labelColumn+k, labels[k]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func appendJSONField(b []byte, key string, v any) ([]byte, error) {
	k, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	val, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = append(b, ',')
	b = append(b, k...)
	b = append(b, ':')
	return append(b, val...), nil
}

func (s *jsonlSink) write(r *exportRow) error {
	obj, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b := append(s.buf[:0], obj[:len(obj)-1]...) // without its '}'
	s.names = s.names[:0]
	for name := range r.Flags {
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	for _, name := range s.names {
		if b, err = appendJSONField(b, flagColumn+name, jsonFloat(r.Flags[name])); err != nil {
			return err
		}
	}
	b = append(b, s.labels...)
	b = append(b, '}', '\n')
	s.buf = b
	_, err = s.w.Write(b)
	return err
}

func (s *jsonlSink) close() error { return s.w.Flush() }

// jsonFloat is a float that JSON can hold, else nil (null).
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// parquetSink writes rows into a parquet file whose schema is fixed before
// the first row: the columns of exportRow, a flag_<name> column per flag
// known up front, a label_<key> column per session label. Rows are
// written in row groups of at most rowGroupRows rows, so memory is bounded
// by a row group, never by the session.
type parquetSink struct {
	w       *parquet.Writer
	col     map[string]int // column index by name
	ncols   int
	flags   map[string]int // flag name -> column
	labels  []parquet.Value
	rows    []parquet.Row // buffered for one WriteRows call
	pending int
	// unknown counts the rows carrying a flag with no column, by flag.
	unknown map[string]int64
}

// parquetColumns are exportRow's columns (without flags and labels).
var parquetColumns = map[string]parquet.Node{
	"session_id":         parquet.String(),
	"session_type":       parquet.String(),
	"signal":             parquet.String(),
	"service_name":       parquet.Optional(parquet.String()),
	"name":               parquet.String(),
	"trace_id":           parquet.String(),
	"span_id":            parquet.String(),
	"parent_span_id":     parquet.String(),
	"time_unix_nano":     parquet.Int(64),
	"end_time_unix_nano": parquet.Optional(parquet.Int(64)),
	"duration_nanos":     parquet.Optional(parquet.Int(64)),
	"span_kind":          parquet.Optional(parquet.String()),
	"status_code":        parquet.Optional(parquet.String()),
	"metric_type":        parquet.Optional(parquet.String()),
	"value":              parquet.Optional(parquet.Leaf(parquet.DoubleType)),
	"count":              parquet.Optional(parquet.Int(64)),
	"sum":                parquet.Optional(parquet.Leaf(parquet.DoubleType)),
	"severity_text":      parquet.Optional(parquet.String()),
	"severity_number":    parquet.Optional(parquet.Int(64)),
	"phase_name":         parquet.Optional(parquet.String()),
	"phase_index":        parquet.Optional(parquet.Int(64)),
	"fault_name":         parquet.Optional(parquet.String()),
	"fault_root_cause":   parquet.Optional(parquet.Leaf(parquet.BooleanType)),
}

// parquetBatchRows is how many rows are handed to the writer at a time.
const parquetBatchRows = 256

func newParquetSink(w io.Writer, flags []string, labels map[string]string, rowGroupRows int64, kv map[string]string) (*parquetSink, error) {
	group := parquet.Group{}
	for name, node := range parquetColumns {
		group[name] = node
	}
	for _, f := range flags {
		group[flagColumn+f] = parquet.Optional(parquet.Leaf(parquet.DoubleType))
	}
	for k := range labels {
		group[labelColumn+k] = parquet.Optional(parquet.String())
	}
	schema := parquet.NewSchema("export", group)
	// Snappy: every parquet reader has it, and zstd's encoders added about
	// 70 MiB to the peak RSS of make export-rss (150 MiB against 80).
	opts := []parquet.WriterOption{schema, parquet.MaxRowsPerRowGroup(rowGroupRows), parquet.Compression(&parquet.Snappy)}
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		opts = append(opts, parquet.KeyValueMetadata(k, kv[k]))
	}
	s := &parquetSink{
		w:       parquet.NewWriter(w, opts...),
		col:     map[string]int{},
		ncols:   len(schema.Columns()),
		flags:   map[string]int{},
		unknown: map[string]int64{},
	}
	for i, path := range schema.Columns() {
		if len(path) != 1 {
			return nil, fmt.Errorf("parquet schema: unexpected nested column %v", path)
		}
		s.col[path[0]] = i
	}
	for _, f := range flags {
		s.flags[f] = s.col[flagColumn+f]
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		s.labels = append(s.labels, parquet.ByteArrayValue([]byte(labels[k])).Level(0, 1, s.col[labelColumn+k]))
	}
	return s, nil
}

func (s *parquetSink) write(r *exportRow) error {
	if s.pending == len(s.rows) {
		s.rows = append(s.rows, make(parquet.Row, s.ncols))
	}
	row := s.rows[s.pending][:s.ncols]
	for i := range row {
		row[i] = parquet.NullValue().Level(0, 0, i)
	}
	str := func(name, v string) {
		i := s.col[name]
		row[i] = parquet.ByteArrayValue([]byte(v)).Level(0, 0, i)
	}
	i64 := func(name string, v int64) {
		i := s.col[name]
		row[i] = parquet.Int64Value(v).Level(0, 0, i)
	}
	optStr := func(name string, v opt[string]) {
		if i := s.col[name]; v.OK {
			row[i] = parquet.ByteArrayValue([]byte(v.V)).Level(0, 1, i)
		}
	}
	optI64 := func(name string, v opt[int64]) {
		if i := s.col[name]; v.OK {
			row[i] = parquet.Int64Value(v.V).Level(0, 1, i)
		}
	}
	optF64 := func(name string, v opt[float64]) {
		if i := s.col[name]; v.OK {
			row[i] = parquet.DoubleValue(v.V).Level(0, 1, i)
		}
	}
	str("session_id", r.SessionID)
	str("session_type", r.SessionType)
	str("signal", r.Signal)
	optStr("service_name", r.ServiceName)
	str("name", r.Name)
	str("trace_id", r.TraceID)
	str("span_id", r.SpanID)
	str("parent_span_id", r.ParentSpanID)
	i64("time_unix_nano", r.Time)
	optI64("end_time_unix_nano", r.EndTime)
	optI64("duration_nanos", r.Duration)
	optStr("span_kind", r.SpanKind)
	optStr("status_code", r.StatusCode)
	optStr("metric_type", r.MetricType)
	optF64("value", r.Value)
	optI64("count", r.Count)
	optF64("sum", r.Sum)
	optStr("severity_text", r.SeverityText)
	optI64("severity_number", r.SeverityNum)
	optStr("phase_name", r.PhaseName)
	optI64("phase_index", r.PhaseIndex)
	optStr("fault_name", r.FaultName)
	if i := s.col["fault_root_cause"]; r.FaultRoot.OK {
		row[i] = parquet.BooleanValue(r.FaultRoot.V).Level(0, 1, i)
	}
	for name, v := range r.Flags {
		i, ok := s.flags[name]
		if !ok {
			s.unknown[name]++
			continue
		}
		row[i] = parquet.DoubleValue(v).Level(0, 1, i)
	}
	for _, v := range s.labels {
		row[v.Column()] = v
	}
	s.pending++
	if s.pending == parquetBatchRows {
		return s.flush()
	}
	return nil
}

func (s *parquetSink) flush() error {
	if s.pending == 0 {
		return nil
	}
	_, err := s.w.WriteRows(s.rows[:s.pending])
	s.pending = 0
	return err
}

func (s *parquetSink) close() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.w.Close()
}

// unknownFlags describes the flags rows carried that had no column.
func (s *parquetSink) unknownFlags() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(s.unknown)) {
		out = append(out, name+" ("+strconv.FormatInt(s.unknown[name], 10)+" rows)")
	}
	return out
}
