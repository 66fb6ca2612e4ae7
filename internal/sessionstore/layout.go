package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SchemaVersion is the storage layout version this package reads and writes.
const SchemaVersion = 1

const (
	sessionsDir  = "sessions/"
	rawDir       = "raw/"
	metadataName = "metadata.json"
	objectSuffix = ".otlp.gz"
	// tempPrefix marks in-progress files of the filesystem backend; listings skip them.
	tempPrefix = ".tmp-"
)

// Signal is one of the three OTLP signals a session holds.
type Signal string

// The signals, in the spelling used in object keys and metadata.
const (
	SignalTraces  Signal = "traces"
	SignalMetrics Signal = "metrics"
	SignalLogs    Signal = "logs"
)

// Signals lists every signal in a stable order.
var Signals = []Signal{SignalTraces, SignalMetrics, SignalLogs}

// Valid reports whether s is one of the known signals.
func (s Signal) Valid() bool {
	return s == SignalTraces || s == SignalMetrics || s == SignalLogs
}

// MaxSessionIDLen is the longest accepted session id.
const MaxSessionIDLen = 128

var sessionIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ErrInvalidSessionID is wrapped by every session id validation failure.
var ErrInvalidSessionID = errors.New("invalid session id")

// ValidateSessionID checks id against the layout's session id rule. The error
// names the offending value (quoted, so control characters stay visible).
func ValidateSessionID(id string) error {
	if sessionIDPattern.MatchString(id) {
		return validatePortable(id)
	}
	shown := id
	if len(shown) > 64 {
		shown = shown[:64] + "…"
	}
	reason := "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
	switch {
	case id == "":
		reason = "must not be empty"
	case len(id) > MaxSessionIDLen:
		reason = fmt.Sprintf("is %d bytes long, at most %d allowed", len(id), MaxSessionIDLen)
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidSessionID, shown, reason)
}

// windowsReserved are the device names Windows will not use for a file or
// directory, with or without an extension.
var windowsReserved = map[string]bool{"con": true, "prn": true, "aux": true, "nul": true}

// validatePortable refuses ids that the layout allows but some filesystems
// mangle: a trailing dot (dropped on Windows and by SMB shares) and Windows
// device names (CON, NUL, COM1, LPT1.log, ...). A session id is a directory
// name on the filesystem backend, and sessions move between stores.
func validatePortable(id string) error {
	if strings.HasSuffix(id, ".") {
		return fmt.Errorf("%w %q: ends in a dot, which Windows and SMB shares drop", ErrInvalidSessionID, id)
	}
	stem, _, _ := strings.Cut(strings.ToLower(id), ".")
	reserved := windowsReserved[stem]
	if len(stem) == 4 && (strings.HasPrefix(stem, "com") || strings.HasPrefix(stem, "lpt")) && stem[3] >= '0' && stem[3] <= '9' {
		reserved = true
	}
	if reserved {
		return fmt.Errorf("%w %q: %s is a device name reserved on Windows", ErrInvalidSessionID, id, strings.ToUpper(stem))
	}
	return nil
}

// NewSessionID returns an automatic session id such as
// capture-20261128T231000Z-1a2b3c4d for kind "capture" at t.
func NewSessionID(kind string, t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return kind + "-" + t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// SessionPrefix is the key prefix of everything stored for a session.
func SessionPrefix(id string) string { return sessionsDir + id + "/" }

// MetadataKey is the key of a session's metadata.json.
func MetadataKey(id string) string { return sessionsDir + id + "/" + metadataName }

// RawPrefix is the key prefix under which a session's data objects live;
// listing it returns them in capture-time order.
func RawPrefix(id string) string { return sessionsDir + id + "/" + rawDir }

// ObjectKey identifies one stored batch.
type ObjectKey struct {
	SessionID   string
	Signal      Signal
	CaptureTime time.Time // millisecond precision, UTC
	ID          string    // a UUID, unique across writers
}

// NewObjectKey returns a key for a batch of signal captured at t, with a
// fresh random UUID.
func NewObjectKey(sessionID string, signal Signal, t time.Time) ObjectKey {
	return ObjectKey{
		SessionID:   sessionID,
		Signal:      signal,
		CaptureTime: t.UTC().Truncate(time.Millisecond),
		ID:          uuid.NewString(),
	}
}

// objectNamespace is the namespace of name-based object uuids.
var objectNamespace = uuid.MustParse("5d0c3a5e-8f0e-4f8e-9d0b-6b1f7c9a4e21")

// DerivedObjectKey returns a key for a batch of signal captured at t whose
// uuid is derived from name (a name-based UUID of the session, the signal
// and name): a writer that stores the same batch again, e.g. redelivered by
// a persistent queue after a restart, computes the same key.
func DerivedObjectKey(sessionID string, signal Signal, t time.Time, name []byte) ObjectKey {
	buf := make([]byte, 0, len(sessionID)+len(signal)+2+len(name))
	buf = append(buf, sessionID...)
	buf = append(buf, 0)
	buf = append(buf, signal...)
	buf = append(buf, 0)
	buf = append(buf, name...)
	return ObjectKey{
		SessionID:   sessionID,
		Signal:      signal,
		CaptureTime: t.UTC().Truncate(time.Millisecond),
		ID:          uuid.NewSHA1(objectNamespace, buf).String(),
	}
}

// String renders the key in layout v1:
// sessions/{id}/raw/YYYY-MM-DD/HH/{signal}-{unixMillis}-{uuid}.otlp.gz
func (k ObjectKey) String() string {
	t := k.CaptureTime.UTC()
	var sb strings.Builder
	sb.Grow(len(sessionsDir) + len(k.SessionID) + 80)
	sb.WriteString(sessionsDir)
	sb.WriteString(k.SessionID)
	sb.WriteString("/" + rawDir)
	sb.WriteString(t.Format("2006-01-02/15/"))
	sb.WriteString(string(k.Signal))
	sb.WriteByte('-')
	fmt.Fprintf(&sb, "%013d", t.UnixMilli())
	sb.WriteByte('-')
	sb.WriteString(k.ID)
	sb.WriteString(objectSuffix)
	return sb.String()
}

// ParseObjectKey parses a data object key of layout v1. It refuses anything
// that does not match the layout exactly, including a date directory that
// disagrees with the millisecond timestamp.
func ParseObjectKey(key string) (ObjectKey, error) {
	bad := func(why string) (ObjectKey, error) {
		return ObjectKey{}, fmt.Errorf("not a data object key %q: %s", key, why)
	}
	rest, ok := strings.CutPrefix(key, sessionsDir)
	if !ok {
		return bad("missing sessions/ prefix")
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 || parts[1] != strings.TrimSuffix(rawDir, "/") {
		return bad("want sessions/{id}/raw/YYYY-MM-DD/HH/{file}")
	}
	id, day, hour, file := parts[0], parts[2], parts[3], parts[4]
	if err := ValidateSessionID(id); err != nil {
		return bad(err.Error())
	}
	name, ok := strings.CutSuffix(file, objectSuffix)
	if !ok {
		return bad("missing " + objectSuffix + " suffix")
	}
	sig, rest2, ok := strings.Cut(name, "-")
	if !ok || !Signal(sig).Valid() {
		return bad("unknown signal")
	}
	millis, uid, ok := strings.Cut(rest2, "-")
	if !ok || len(millis) != 13 {
		return bad("want a 13 digit unix millisecond timestamp")
	}
	ms, err := strconv.ParseInt(millis, 10, 64)
	if err != nil || ms < 0 {
		return bad("want a 13 digit unix millisecond timestamp")
	}
	if _, err := uuid.Parse(uid); err != nil || len(uid) != 36 {
		return bad("want a UUID")
	}
	t := time.UnixMilli(ms).UTC()
	if t.Format("2006-01-02") != day || t.Format("15") != hour {
		return bad("date directory does not match the timestamp")
	}
	return ObjectKey{SessionID: id, Signal: Signal(sig), CaptureTime: t, ID: uid}, nil
}
