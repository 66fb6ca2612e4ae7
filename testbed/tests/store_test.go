package tests

// A small reader of the session store layout (the root README's "Storage
// format"), written here so that the testbed module never imports the root
// module:
//
//	{root}/sessions/{id}/metadata.json
//	{root}/sessions/{id}/raw/YYYY-MM-DD/HH/{signal}-{unixMillis}-{uuid}.otlp.gz
//
// Each object is one gzip member of an OTLP protobuf Export*ServiceRequest.
// {root} is a directory: the filesystem backend's, or for S3 the bucket
// directory of versitygw's posix backend, which keeps every object as a file
// under its key.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// objectName is {signal}-{unixMillis}-{uuid}.otlp.gz.
var objectName = regexp.MustCompile(`^(traces|metrics|logs)-(\d{13})-([0-9a-f-]{36})\.otlp\.gz$`)

// storedObject is one decoded data object.
type storedObject struct {
	Key         string // sessions/{id}/raw/...
	Signal      string
	CaptureTime time.Time
	UUID        string
	Traces      ptrace.Traces
	Metrics     pmetric.Metrics
	Logs        plog.Logs
}

// Items is the number of spans, data points or log records in the object.
func (o storedObject) Items() int {
	switch o.Signal {
	case "traces":
		return o.Traces.SpanCount()
	case "metrics":
		return o.Metrics.DataPointCount()
	default:
		return o.Logs.LogRecordCount()
	}
}

// sessionMetadata is the part of metadata.json the scenarios check.
type sessionMetadata struct {
	SessionID       string           `json:"sessionId"`
	Status          string           `json:"status"`
	StartTime       time.Time        `json:"startTime"`
	EndTime         *time.Time       `json:"endTime"`
	CapturedTraces  int64            `json:"capturedTraces"`
	CapturedMetrics int64            `json:"capturedMetrics"`
	CapturedLogs    int64            `json:"capturedLogs"`
	TotalSizeBytes  int64            `json:"totalSizeBytes"`
	LostItems       map[string]int64 `json:"lostItems"`
	DroppedItems    map[string]int64 `json:"droppedItems"` // by backpressure: drop
	Signals         map[string]struct {
		Objects int64 `json:"objects"`
		Items   int64 `json:"items"`
	} `json:"signals"`
}

// Items is every item the metadata counts.
func (m sessionMetadata) Items() int64 { return m.CapturedTraces + m.CapturedMetrics + m.CapturedLogs }

// sessionIDs lists the sessions under root, sorted.
func sessionIDs(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "sessions"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// readMetadata reads sessions/{id}/metadata.json.
func readMetadata(root, id string) (sessionMetadata, error) {
	var md sessionMetadata
	b, err := os.ReadFile(filepath.Join(root, "sessions", id, "metadata.json"))
	if err != nil {
		return md, err
	}
	if err := json.Unmarshal(b, &md); err != nil {
		return md, fmt.Errorf("metadata.json of %s: %w", id, err)
	}
	return md, nil
}

// objectKeys lists the data object keys of a session in key order (which is
// capture-time order), skipping temp files.
func objectKeys(root, id string) ([]string, error) {
	rawDir := filepath.Join(root, "sessions", id, "raw")
	var keys []string
	err := filepath.WalkDir(rawDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !objectName.MatchString(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	return keys, nil
}

// readObject decodes one stored object.
func readObject(root, key string) (storedObject, error) {
	m := objectName.FindStringSubmatch(key[strings.LastIndexByte(key, '/')+1:])
	if m == nil {
		return storedObject{}, fmt.Errorf("not an object key: %s", key)
	}
	ms, _ := strconv.ParseInt(m[2], 10, 64)
	obj := storedObject{Key: key, Signal: m[1], CaptureTime: time.UnixMilli(ms).UTC(), UUID: m[3]}
	gz, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(key)))
	if err != nil {
		return obj, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return obj, fmt.Errorf("%s: %w", key, err)
	}
	zr.Multistream(false) // one member per object
	raw, err := io.ReadAll(zr)
	if err != nil {
		return obj, fmt.Errorf("%s: %w", key, err)
	}
	switch obj.Signal {
	case "traces":
		obj.Traces, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(raw)
	case "metrics":
		obj.Metrics, err = (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(raw)
	default:
		obj.Logs, err = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(raw)
	}
	if err != nil {
		return obj, fmt.Errorf("%s: %w", key, err)
	}
	return obj, nil
}

// forEachObject decodes every object of a session in key order.
func forEachObject(root, id string, fn func(storedObject) error) error {
	keys, err := objectKeys(root, id)
	if err != nil {
		return err
	}
	for _, k := range keys {
		obj, err := readObject(root, k)
		if err != nil {
			return err
		}
		if err := fn(obj); err != nil {
			return err
		}
	}
	return nil
}
