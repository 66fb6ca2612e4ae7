package sessionstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/confutil"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/faultstore"
)

var annT0 = time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)

// annotatedSession stores session s1 as one writer left it: its view and
// metadata.json (the merge), with events from annT0 for a minute.
func annotatedSession(t *testing.T, status sessionstore.Status) (sessionstore.Store, *sessionstore.Metadata) {
	t.Helper()
	st, err := sessionstore.OpenFilesystem(filepath.Join(t.TempDir(), "root"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	m := sessionstore.NewMetadata("s1", sessionstore.SessionTypeCapture, annT0, "w")
	m.Add(sessionstore.SignalTraces, annT0.Add(time.Second), 5, 50, 5)
	m.ExtendEventTime(annT0, annT0.Add(time.Minute))
	m.Labels = map[string]string{"env": "dev"}
	m.Status = status
	if status != sessionstore.StatusActive {
		end := annT0.Add(2 * time.Minute)
		m.EndTime = &end
	}
	ctx := context.Background()
	require.NoError(t, sessionstore.WriteWriter(ctx, st, "w", m))
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, m))
	return st, m
}

// TestAnnotateSurvivesLiveWriter: an annotation is in metadata.json at
// once, and still there after a live writer rewrites metadata.json as the
// merge of its writers' views (which know nothing of it); the session's
// status and counts are the writers'.
func TestAnnotateSurvivesLiveWriter(t *testing.T) {
	ctx := context.Background()
	st, view := annotatedSession(t, sessionstore.StatusActive)
	req := sessionstore.AnnotationRequest{
		Phases: []sessionstore.PhaseSpec{{Name: "failure", From: "10s", To: annT0.Add(20 * time.Second).Format(time.RFC3339)}},
		Labels: map[string]string{"incident": "INC-7"},
		Flags:  []string{"paymentFailure"},
		Notes:  []string{"checkout broke here"},
	}
	got, err := sessionstore.Annotate(ctx, st, "s1", req, "tester")
	require.NoError(t, err)
	want := &sessionstore.Annotations{
		Phases: []sessionstore.AnnotatedPhase{{Name: "failure", Start: annT0.Add(10 * time.Second), End: annT0.Add(20 * time.Second)}},
		Labels: map[string]string{"incident": "INC-7"},
		Flags:  []string{"paymentFailure"},
		Notes:  []string{"checkout broke here"},
	}
	assert.Equal(t, want, got.Annotations)

	check := func(what string) {
		t.Helper()
		m, err := sessionstore.ReadMetadata(ctx, st, "s1")
		require.NoError(t, err)
		assert.Equal(t, want, m.Annotations, what)
		assert.Equal(t, map[string]string{"env": "dev", "incident": "INC-7"}, m.Labels, what)
		assert.Equal(t, []string{"paymentFailure"}, m.EnabledFlags, what)
		assert.Equal(t, sessionstore.StatusActive, m.Status, what)
		assert.Equal(t, int64(5), m.CapturedTraces, what)
	}
	check("after annotate")

	// The live writer's next round: its view, then metadata.json as the
	// merge of the views.
	view.Add(sessionstore.SignalTraces, annT0.Add(3*time.Second), 0, 0, 0)
	require.NoError(t, sessionstore.WriteWriter(ctx, st, "w", view))
	views, err := sessionstore.ReadWriters(ctx, st, "s1")
	require.NoError(t, err)
	assert.NotContains(t, views, "annotations", "annotations are no writer's view")
	require.NoError(t, sessionstore.WriteMetadata(ctx, st, sessionstore.Merge(views)))
	check("after the writer's rewrite")

	// Removing what was added takes it out of metadata.json again.
	_, err = sessionstore.Annotate(ctx, st, "s1", sessionstore.AnnotationRequest{RemovePhases: []string{"failure"}, RemoveLabels: []string{"incident"}}, "tester")
	require.NoError(t, err)
	m, err := sessionstore.ReadMetadata(ctx, st, "s1")
	require.NoError(t, err)
	assert.Empty(t, m.Annotations.Phases)
	assert.Equal(t, map[string]string{"env": "dev"}, m.Labels)
	assert.Equal(t, []string{"checkout broke here"}, m.Annotations.Notes)
}

// TestAnnotateCompletedStaysCompleted: annotating a completed session
// rewrites metadata.json with the annotation and leaves it completed, as
// its writers' views say; old readers see only new optional fields.
func TestAnnotateCompletedStaysCompleted(t *testing.T) {
	ctx := context.Background()
	st, _ := annotatedSession(t, sessionstore.StatusCompleted)
	_, err := sessionstore.Annotate(ctx, st, "s1", sessionstore.AnnotationRequest{Notes: []string{"n"}}, "tester")
	require.NoError(t, err)
	m, err := sessionstore.ReadMetadata(ctx, st, "s1")
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusCompleted, m.Status)
	require.NotNil(t, m.EndTime)
	data, err := sessionstore.ReadMetadataBytes(ctx, st, "s1")
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Equal(t, "completed", raw["status"])
	assert.Equal(t, map[string]any{"notes": []any{"n"}}, raw["annotations"])
}

// TestAnnotateConcurrent: annotators at work at the same time each store
// their change as an object of its own, so none is lost, and
// metadata.json ends with all of them.
func TestAnnotateConcurrent(t *testing.T) {
	ctx := context.Background()
	st, _ := annotatedSession(t, sessionstore.StatusCompleted)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			name := string(rune('a' + i))
			_, errs[i] = sessionstore.Annotate(ctx, st, "s1", sessionstore.AnnotationRequest{
				Phases: []sessionstore.PhaseSpec{{Name: name, From: "1s", To: "2s"}},
				Labels: map[string]string{name: "v"},
			}, "annotator-"+name)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	m, err := sessionstore.ReadMetadata(ctx, st, "s1")
	require.NoError(t, err)
	require.NotNil(t, m.Annotations)
	assert.Len(t, m.Annotations.Phases, n)
	assert.Len(t, m.Annotations.Labels, n)
	assert.Len(t, m.Labels, n+1)
	a, err := sessionstore.ReadAnnotations(ctx, st, "s1")
	require.NoError(t, err)
	assert.Equal(t, m.Annotations, a)
}

// TestAnnotateInvalid: bad input is refused naming the field and the
// value, and nothing is stored.
func TestAnnotateInvalid(t *testing.T) {
	ctx := context.Background()
	st, _ := annotatedSession(t, sessionstore.StatusCompleted)
	tests := []struct {
		name      string
		id        string
		req       sessionstore.AnnotationRequest
		field     string
		wantInErr string
	}{
		{name: "nothing", req: sessionstore.AnnotationRequest{}, wantInErr: "nothing to annotate"},
		{name: "empty phase name", req: sessionstore.AnnotationRequest{Phases: []sessionstore.PhaseSpec{{From: "1s", To: "2s"}}}, field: "phases[0].name", wantInErr: "must not be empty"},
		{name: "bad from", req: sessionstore.AnnotationRequest{Phases: []sessionstore.PhaseSpec{{Name: "p", From: "soon", To: "2s"}}}, field: "phases[0].from", wantInErr: `"soon"`},
		{name: "missing to", req: sessionstore.AnnotationRequest{Phases: []sessionstore.PhaseSpec{{Name: "p", From: "1s"}}}, field: "phases[0].to", wantInErr: "must not be empty"},
		{name: "reversed", req: sessionstore.AnnotationRequest{Phases: []sessionstore.PhaseSpec{{Name: "p", From: "20s", To: "10s"}}}, field: "phases[0]", wantInErr: "is not before"},
		{name: "negative", req: sessionstore.AnnotationRequest{Phases: []sessionstore.PhaseSpec{{Name: "p", From: "-1s", To: "10s"}}}, field: "phases[0].from", wantInErr: "negative"},
		{name: "twice", req: sessionstore.AnnotationRequest{Phases: []sessionstore.PhaseSpec{{Name: "p", From: "1s", To: "2s"}, {Name: "p", From: "3s", To: "4s"}}}, field: "phases[1].name", wantInErr: `"p"`},
		{name: "empty label key", req: sessionstore.AnnotationRequest{Labels: map[string]string{"": "v"}}, field: "labels", wantInErr: "empty"},
		{name: "empty flag", req: sessionstore.AnnotationRequest{Flags: []string{""}}, field: "flags[0]", wantInErr: "must not be empty"},
		{name: "control character in a note", req: sessionstore.AnnotationRequest{Notes: []string{"a\x00b"}}, field: "notes[0]", wantInErr: "control character"},
		{name: "too large", req: sessionstore.AnnotationRequest{Notes: slices.Repeat([]string{strings.Repeat("n", 4000)}, 300)}, wantInErr: "at most 1048576 allowed"},
		{name: "hostile id", id: "../etc", req: sessionstore.AnnotationRequest{Notes: []string{"n"}}, wantInErr: `"../etc"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if id == "" {
				id = "s1"
			}
			_, err := sessionstore.Annotate(ctx, st, id, tt.req, "tester")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantInErr)
			if tt.field != "" {
				fe, ok := errors.AsType[*confutil.FieldError](err)
				require.True(t, ok, "a field error: %v", err)
				assert.Equal(t, tt.field, fe.Field)
			}
		})
	}
	a, err := sessionstore.ReadAnnotations(ctx, st, "s1")
	require.NoError(t, err)
	assert.Nil(t, a, "nothing stored")

	_, err = sessionstore.Annotate(ctx, st, "nope", sessionstore.AnnotationRequest{Notes: []string{"n"}}, "tester")
	require.ErrorIs(t, err, sessionstore.ErrNotFound)
}

// TestAnnotateRacesWriterEnd: a writer ends the session between the
// annotator's reading of the views and its write of metadata.json (the
// annotator's, from the views it read, says active and lands last).
// Annotate sees the views changed and writes again: the session ends
// completed, with the annotation, not active forever.
func TestAnnotateRacesWriterEnd(t *testing.T) {
	ctx := context.Background()
	base, view := annotatedSession(t, sessionstore.StatusActive)
	var once sync.Once
	fs := faultstore.New(base, func(c faultstore.Call) faultstore.Fault {
		if c.Op == faultstore.Put && c.Key == sessionstore.MetadataKey("s1") {
			once.Do(func() {
				// The writer's last round, straight to the store.
				ended := view.Clone()
				ended.Status = sessionstore.StatusCompleted
				end := annT0.Add(2 * time.Minute)
				ended.EndTime = &end
				require.NoError(t, sessionstore.WriteWriter(ctx, base, "w", ended))
				require.NoError(t, sessionstore.WriteMetadata(ctx, base, ended))
			})
		}
		return faultstore.Fault{}
	})
	_, err := sessionstore.Annotate(ctx, fs, "s1", sessionstore.AnnotationRequest{Notes: []string{"raced"}}, "tester")
	require.NoError(t, err)
	m, err := sessionstore.ReadMetadata(ctx, base, "s1")
	require.NoError(t, err)
	assert.Equal(t, sessionstore.StatusCompleted, m.Status, "the writer ended it")
	assert.Equal(t, []string{"raced"}, m.Annotations.Notes)
	assert.Len(t, fs.Calls(faultstore.Put), 3, "the annotation, a metadata.json from the old views, one from the new")
}

// TestAnnotateStoreFails: an annotation the store does not take is an
// error, and metadata.json is left as it was; one stored whose
// metadata.json write fails is an error that says it is kept.
func TestAnnotateStoreFails(t *testing.T) {
	ctx := context.Background()
	base, _ := annotatedSession(t, sessionstore.StatusCompleted)
	fs := faultstore.New(base, faultstore.Once(faultstore.Put, faultstore.Fault{Err: errors.New("disk full")}))
	_, err := sessionstore.Annotate(ctx, fs, "s1", sessionstore.AnnotationRequest{Notes: []string{"n"}}, "tester")
	require.ErrorContains(t, err, "disk full")
	m, err := sessionstore.ReadMetadata(ctx, base, "s1")
	require.NoError(t, err)
	assert.Nil(t, m.Annotations)

	// Stored, then metadata.json refused: the error says the annotation
	// is kept, and the next metadata.json write shows it.
	fs = faultstore.New(base, func(c faultstore.Call) faultstore.Fault {
		if c.Op == faultstore.Put && c.Key == sessionstore.MetadataKey("s1") {
			return faultstore.Fault{Err: errors.New("disk full")}
		}
		return faultstore.Fault{}
	})
	_, err = sessionstore.Annotate(ctx, fs, "s1", sessionstore.AnnotationRequest{Notes: []string{"kept"}}, "tester")
	require.ErrorContains(t, err, "stored as sessions/s1/annotations/")
	require.ErrorContains(t, err, "disk full")
	m, err = sessionstore.ReadMetadata(ctx, base, "s1")
	require.NoError(t, err)
	assert.Nil(t, m.Annotations)
	require.NoError(t, sessionstore.WriteMetadata(ctx, base, m))
	m, err = sessionstore.ReadMetadata(ctx, base, "s1")
	require.NoError(t, err)
	assert.Equal(t, []string{"kept"}, m.Annotations.Notes)
}
