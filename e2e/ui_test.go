package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionoverview"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/otelcoltest"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"
)

// chromium finds the browser: $CHROMIUM, else chromium on $PATH. Without
// it the browser tests skip, or fail under RECORDREPLAY_REQUIRE_CHROMIUM=1
// (make ui-test).
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHROMIUM")
	if p == "" {
		p, _ = exec.LookPath("chromium")
	}
	if p == "" {
		if os.Getenv("RECORDREPLAY_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("Chromium not found: install it (Debian: apt-get install chromium) or set CHROMIUM")
		}
		t.Skip("Chromium not found (Debian: apt-get install chromium, or set CHROMIUM); make ui-test runs the browser tests")
	}
	return p
}

// browser starts a headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("user-data-dir", t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestSessionBrowser drives the session browser in a real Chromium against
// the built collector: the list shows the sessions; a seed session's page
// shows its phases as bands and its counts; a replay started from the page
// reaches 100 %; the capture is paused and resumed from the page; a
// captured session is annotated with a phase from its page, and the replay
// of that phase, started from the page, delivers its items; a page of
// another origin cannot start a replay.
func TestSessionBrowser(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	st, err := sessionstore.OpenFilesystem(dir)
	require.NoError(t, err)
	runSeed(t, "CAPTURE_DIR="+dir) // payment-failure, 30 s at 20 traces/s, clock fast
	seedID := sessiontest.IDs(t, st)[0]
	c0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	w := sessiontest.NewWriter(t, st, "recorded", c0)
	for i := range 8 {
		at := c0.Add(time.Duration(i) * 100 * time.Millisecond)
		w.Traces(at, sessiontest.Traces("svc", i, 5, at))
	}
	w.Complete()
	seeded, err := sessionstore.ReadMetadata(context.Background(), st, seedID)
	require.NoError(t, err)
	overview, err := sessionoverview.Compute(context.Background(), st, seedID, sessionoverview.Options{})
	require.NoError(t, err)

	c := otelcoltest.Launch(t, fmt.Sprintf(`
receivers:
  session_replay:
    store: {backend: filesystem, directory: %q}
    start: manual
    control: session_control
    progress_interval: 0s
exporters:
  debug: {verbosity: basic}
  session_capture:
    store: {backend: filesystem, directory: %q}
    control: session_control
extensions:
  session_control: {endpoint: "{{CONTROL}}", token: browser-test}
  health_check: {endpoint: "{{HEALTH}}"}
service:
  extensions: [health_check, session_control]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [session_replay], exporters: [debug, session_capture]}
`, dir, t.TempDir()))
	c.WaitHealthy(t)
	shots := os.Getenv("UI_SCREENSHOTS") // a directory: the README's screenshots (make ui-screenshots)
	shoot := func(name string) {
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name), png, 0o644))
	}

	// the list, after the token
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate("http://"+c.Control+"/ui/"),
		chromedp.Poll[chromedp.Void](`document.getElementById("login") && !document.getElementById("login").hidden`)))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue("#token", "browser-test"),
		chromedp.Click("#login button"), // Submit would bypass the page's submit handler
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#sessions tbody tr").length == 2`)))
	listed, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#sessions tbody tr")].map(r => r.dataset.session + " " + r.children[1].textContent + " " + r.children[2].textContent)`))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{seedID + " seed completed", "recorded capture completed"}, listed)
	shoot("ui-sessions.png")

	// filtered by type, then the seed session's page
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate("http://"+c.Control+"/ui/#/?type=seed"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#sessions tbody tr").length == 1`),
		chromedp.Click(`a[href="#/session/`+seedID+`"]`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#phase-plot .phase-band").length > 0`)))
	bands, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#phase-plot .phase-band")].map(b => b.dataset.phase)`))
	require.NoError(t, err)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#phases tbody tr")].map(r => r.dataset.phase + " " + r.children[3].textContent)`))
	require.NoError(t, err)
	var wantBands, wantRows []string
	for _, p := range seeded.Seed.Phases {
		wantBands = append(wantBands, p.Name)
		wantRows = append(wantRows, p.Name+" "+comma(p.Items))
	}
	assert.Equal(t, wantBands, bands)
	assert.Equal(t, wantRows, rows)
	shares, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`Object.fromEntries([...document.querySelectorAll("#phase-plot .phase-band")].map(b => [b.dataset.phase, Number(b.dataset.errorShare)]))`))
	require.NoError(t, err)
	for _, p := range overview.Phases {
		assert.InDelta(t, float64(p.Errors)/float64(p.Items), shares[p.Name], 1e-4, "phase %s", p.Name)
	}
	assert.Greater(t, shares["failure"], 3*shares["startup"], "payments fail in the failure phase")
	services, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#services tbody tr")].map(r => r.dataset.key + " " + r.children[1].textContent + " " + r.children[2].textContent)`))
	require.NoError(t, err)
	var wantServices []string
	for _, s := range overview.Services {
		wantServices = append(wantServices, fmt.Sprintf("%s %s %s", s.Name, comma(s.Spans), comma(s.ErrorSpans)))
	}
	assert.Equal(t, wantServices, services)
	series, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#timeline .series")].map(s => s.dataset.signal)`))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"traces", "metrics", "logs"}, series)
	shaded, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#timeline .phase-shade")].map(r => r.dataset.phase)`))
	require.NoError(t, err)
	assert.Equal(t, wantBands, shaded, "the phases shade the timeline")
	spans, err := chromedp.Run(ctx, chromedp.Text(`td[data-count="traces"]`))
	require.NoError(t, err)
	assert.Equal(t, comma(seeded.CapturedTraces), spans)
	shoot("ui-session.png")

	// a captured session annotated from its page: a phase of its first
	// 400 ms of event time, and a note
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate("http://"+c.Control+"/ui/#/session/recorded"),
		chromedp.Poll[chromedp.Void](`document.querySelector("h1") && document.querySelector("h1").textContent == "Session recorded" && document.getElementById("annotate") != null`),
		chromedp.Evaluate[chromedp.Void](`(() => { const f = document.getElementById("annotate");
			f.phase.value = "burst"; f.from.value = "0s"; f.to.value = "400ms"; f.note.value = "from the browser"; })()`),
		click(`#annotate button`)))
	shown, err := chromedp.Run(ctx, chromedp.Poll[string](`document.querySelector('#phases tr[data-phase="burst"]') && document.querySelector("#notes li") ? "annotated" : document.getElementById("error").textContent`))
	require.NoError(t, err)
	require.Equal(t, "annotated", shown)
	annotated, err := sessionstore.ReadMetadata(context.Background(), st, "recorded")
	require.NoError(t, err)
	require.NotNil(t, annotated.Annotations)
	require.Len(t, annotated.Annotations.Phases, 1)
	assert.Equal(t, "burst", annotated.Annotations.Phases[0].Name)
	assert.Equal(t, []string{"from the browser"}, annotated.Annotations.Notes)
	assert.Equal(t, sessionstore.StatusCompleted, annotated.Status)

	// a page of another origin (another port of this machine) cannot start
	// a replay: its form's POST reaches the API, which refuses it
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `<html><body><form method="post" enctype="text/plain" action=%q><input name="a" value="b"></form>
<script>document.forms[0].submit()</script></body></html>`, "http://"+c.Control+"/v1/replays/session_replay/start")
	}))
	defer other.Close()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(other.URL)))
	var answer string
	require.Eventually(t, func() bool { // the page navigates to the answer: evaluate until it has
		answer, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname == "/v1/replays/session_replay/start" && document.body ? document.body.textContent : ""`))
		return answer != ""
	}, 30*time.Second, 50*time.Millisecond)
	assert.Contains(t, answer, `"forbidden"`)
	assert.Contains(t, answer, "another site's page")
	var rs control.ReplayStatus
	a := api{t: t, base: c.Control, token: "browser-test"}
	a.ok("GET", "/v1/replays/session_replay", nil, &rs)
	assert.Equal(t, control.Idle, rs.State, "another origin's page started nothing")

	// the capture, paused and resumed from the page
	state := func() string {
		var cs control.CaptureState
		a.ok("GET", "/v1/captures/session_capture", nil, &cs)
		return cs.State
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate("http://"+c.Control+"/ui/#/live"),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".capture .state") || {}).textContent == "recording"`),
		click(`.capture button`),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".capture .state") || {}).textContent == "paused"`)))
	assert.Equal(t, control.Paused, state())
	require.NoError(t, chromedp.Do(ctx,
		click(`.capture button`),
		chromedp.Poll[chromedp.Void](`(document.querySelector(".capture .state") || {}).textContent == "recording"`)))
	assert.Equal(t, control.Recording, state())

	// a replay from the page, watched to 100 %
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate("http://"+c.Control+"/ui/#/live?session=recorded"),
		chromedp.Poll[chromedp.Void](`document.querySelector(".replay form.replay-start") != null`),
		chromedp.Poll[chromedp.Void](`document.querySelector('.replay input[name="session"]').value == "recorded"`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.replay input[name="speed"]').value = "4"`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.replay input[name="phases"]').value = "burst"`),
		click(`.replay form.replay-start button`)))
	done, err := chromedp.Run(ctx, chromedp.Poll[string](`(document.querySelector(".replay .state") || {}).textContent == "finished" ? document.querySelector(".replay .percent").textContent : document.getElementById("error").textContent`))
	require.NoError(t, err)
	require.Equal(t, "100.0 %", done)
	a.ok("GET", "/v1/replays/session_replay", nil, &rs)
	assert.Equal(t, control.Finished, rs.State)
	assert.Equal(t, "recorded", rs.Session)
	assert.EqualValues(t, 20, rs.ItemsDone, "the annotated phase: the first four objects' spans")
}

// comma writes n as the page does (en: 12,345).
func comma(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// click clicks the element sel selects in one step of the page's own: the
// live view redraws itself every few seconds, so a node found by one
// protocol call may be gone by the next.
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).click()`, sel))
}
