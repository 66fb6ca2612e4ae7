package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Snapshot requests. A snapshot of a rolling session shared by several
// writers is asked of one of them, which puts the request in the store,
// sessions/{rolling}/snapshots/{snapshot id}.json: every writer of the
// rolling session reads it within a metadata interval and saves its own
// share of the window into the snapshot session, as one of its writers.

const snapshotsDir = "snapshots/"

// SnapshotRequest is a request for a snapshot of a rolling session.
type SnapshotRequest struct {
	// ID is the snapshot session's id.
	ID string `json:"id"`
	// From and To bound the acceptance times saved.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Writers are the writers of the rolling session that were live when
	// it was asked for: the snapshot completes once each has saved its
	// share (or stopped being live).
	Writers []string `json:"writers"`
	// What every share's view says of the session.
	Description         string            `json:"description,omitempty"`
	Labels              map[string]string `json:"labels,omitempty"`
	DiagnosticSessionID string            `json:"diagnosticSessionId,omitempty"`
}

// SnapshotRequestKey is the key of a request for snapshot id of session
// rolling.
func SnapshotRequestKey(rolling, id string) string {
	return sessionsDir + rolling + "/" + snapshotsDir + id + ".json"
}

// WriteSnapshotRequest stores a request for a snapshot of session rolling.
func WriteSnapshotRequest(ctx context.Context, s Store, rolling string, r *SnapshotRequest) error {
	if err := ValidateSessionID(rolling); err != nil {
		return err
	}
	if err := ValidateSessionID(r.ID); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode snapshot request %s: %w", r.ID, err)
	}
	return s.Put(ctx, SnapshotRequestKey(rolling, r.ID), data)
}

// maxSnapshotRequestBytes caps how much of a request is read.
const maxSnapshotRequestBytes = 64 << 10

// ReadSnapshotRequests loads the snapshot requests of session rolling. An
// unreadable request is left out and reported in the error (matching
// ErrCorrupt) next to the ones that could be read; a store failure returns
// none.
func ReadSnapshotRequests(ctx context.Context, s Store, rolling string) ([]*SnapshotRequest, error) {
	if err := ValidateSessionID(rolling); err != nil {
		return nil, err
	}
	prefix := sessionsDir + rolling + "/" + snapshotsDir
	var out []*SnapshotRequest
	var bad []error
	for info, err := range s.List(ctx, prefix) {
		if err != nil {
			return nil, fmt.Errorf("list snapshot requests of session %s: %w", rolling, err)
		}
		id, ok := strings.CutSuffix(strings.TrimPrefix(info.Key, prefix), ".json")
		if !ok || ValidateSessionID(id) != nil {
			continue
		}
		rc, err := s.Get(ctx, info.Key)
		if errors.Is(err, ErrNotFound) {
			continue // done and removed since the listing
		}
		if err != nil {
			return nil, err
		}
		data, err := ReadAll(rc, maxSnapshotRequestBytes)
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", info.Key, err)
		}
		var r SnapshotRequest
		if err := json.Unmarshal(data, &r); err != nil || r.ID != id || ValidateSessionID(r.ID) != nil {
			bad = append(bad, fmt.Errorf("%w: snapshot request %s", ErrCorrupt, info.Key))
			continue
		}
		out = append(out, &r)
	}
	return out, errors.Join(bad...)
}

// DeleteSnapshotRequest removes a request once its snapshot is complete.
func DeleteSnapshotRequest(ctx context.Context, s Store, rolling, id string) error {
	return s.Delete(ctx, SnapshotRequestKey(rolling, id))
}
