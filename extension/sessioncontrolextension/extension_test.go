package sessioncontrolextension

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension/internal/metadata"
	"github.com/recordreplay/otelcol-recordreplay/internal/control/controlreg"
	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
)

// TestToken: with a token, every request needs `Authorization: Bearer
// <token>`; without one, nothing is checked.
func TestToken(t *testing.T) {
	const token = "s3cr3t-t0ken"
	a := startAPI(t, func(c *Config) { c.Token = token }, nil)
	for _, tt := range []struct {
		name, header, challenge string
	}{
		{"missing", "", `Bearer realm="session_control"`},
		{"wrong", "Authorization: Bearer wrong", `error="invalid_token"`},
		{"prefix", "Authorization: Bearer s3cr3t", `error="invalid_token"`},
		{"longer", "Authorization: Bearer " + token + "x", `error="invalid_token"`},
		{"basic scheme", "Authorization: Basic " + token, `Bearer realm="session_control"`},
		{"no scheme", "Authorization: " + token, `Bearer realm="session_control"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.header != "" {
				headers = append(headers, tt.header)
			}
			for _, path := range []string{"/v1/captures", "/v1/sessions", "/v1/nothing"} {
				r := a.do("GET", path, "", headers...)
				requireError(t, r, http.StatusUnauthorized, "unauthorized")
				assert.True(t, strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer"))
				assert.Contains(t, r.header.Get("WWW-Authenticate"), tt.challenge)
			}
			r := a.do("POST", "/v1/replays/x/start", "{}", headers...)
			requireError(t, r, http.StatusUnauthorized, "unauthorized")
		})
	}
	for _, h := range []string{"Authorization: Bearer " + token, "Authorization: bearer " + token} {
		r := a.do("GET", "/v1/captures", "", h)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.Equal(t, "[]\n", string(r.body))
	}
	for _, e := range a.logs.All() {
		for k, v := range e.ContextMap() {
			assert.NotContains(t, fmt.Sprint(v), "s3cr3t", "field %s of %q", k, e.Message)
		}
	}

	open := startAPI(t, nil, nil)
	r := open.do("GET", "/v1/captures", "")
	require.Equal(t, http.StatusOK, r.status)
	r = open.do("GET", "/v1/captures", "", "Authorization: Bearer anything")
	require.Equal(t, http.StatusOK, r.status, "no token configured: no check")
}

// keyAuth is an authenticator extension that accepts requests with the
// header X-Api-Key: k1.
type keyAuth struct {
	component.StartFunc
	component.ShutdownFunc
}

var _ extensionauth.Server = keyAuth{}

func (keyAuth) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	for k, v := range sources {
		if strings.EqualFold(k, "X-Api-Key") && len(v) == 1 && v[0] == "k1" {
			return ctx, nil
		}
	}
	return ctx, errors.New("no valid api key")
}

// authHost offers extensions.
type authHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h authHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// TestAuthenticator: auth: uses an authenticator extension of the
// collector (through confighttp); its refusal is a JSON 401 and logged.
func TestAuthenticator(t *testing.T) {
	authID := component.MustNewID("keyauth")
	host := authHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{authID: keyAuth{}}}
	a := startAPI(t, func(c *Config) {
		c.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	}, host)
	r := a.do("GET", "/v1/captures", "")
	requireError(t, r, http.StatusUnauthorized, "unauthorized", "no valid api key")
	r = a.do("GET", "/v1/captures", "", "X-Api-Key: k1")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	statuses := []int{}
	for _, e := range a.logs.FilterMessage("Control API request").All() {
		statuses = append(statuses, int(e.ContextMap()["status"].(int64)))
	}
	assert.Equal(t, []int{401, 200}, statuses)

	// A missing authenticator fails the start, naming it.
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewID("nope")}})
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), host)
	require.ErrorContains(t, err, "nope")
	require.NoError(t, ext.Shutdown(context.Background()))
}

// TestRequestLog: one Info line per request, with method, path, status,
// duration, remote address and an error's detail; never a header or the
// query.
func TestRequestLog(t *testing.T) {
	a := startAPI(t, func(c *Config) { c.Token = "tok" }, nil)
	a.do("GET", "/v1/captures?store=secret-query", "", "Authorization: Bearer tok")
	a.do("POST", "/v1/captures/session_capture%2Fx/pause", "", "Authorization: Bearer tok")
	a.do("GET", "/v1/replays", "", "Authorization: Bearer bad")
	lines := a.logs.FilterMessage("Control API request").All()
	require.Len(t, lines, 3)
	want := []struct {
		method, path string
		status       int64
		err          string
	}{
		{"GET", "/v1/captures", 200, ""},
		{"POST", "/v1/captures/session_capture%2Fx/pause", 404, `no capture "session_capture/x"`},
		{"GET", "/v1/replays", 401, "wrong token"},
	}
	for i, w := range want {
		f := lines[i].ContextMap()
		assert.Equal(t, w.method, f["method"])
		assert.Equal(t, w.path, f["path"])
		assert.Equal(t, w.status, f["status"])
		assert.Contains(t, f, "duration")
		host, _, err := net.SplitHostPort(f["remote"].(string))
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
		if w.err == "" {
			assert.NotContains(t, f, "error")
		} else {
			assert.Contains(t, f["error"], w.err)
		}
		for _, v := range f {
			assert.NotContains(t, fmt.Sprint(v), "Bearer")
			assert.NotContains(t, fmt.Sprint(v), "secret-query")
		}
	}
}

// TestRegistry: components register under their id, once; the unregister
// func removes the registration (once, and never a later one of the same
// id); captures and replays are separate.
func TestRegistry(t *testing.T) {
	ext := newControlExtension(createDefaultConfig().(*Config), extensiontest.NewNopSettings(metadata.Type))
	st := openStore(t)
	id := component.MustNewIDWithName("session_capture", "a")

	unregister, err := ext.RegisterCapture(id, newFakeCapture(st))
	require.NoError(t, err)
	_, err = ext.RegisterCapture(id, newFakeCapture(st))
	require.ErrorContains(t, err, `"session_capture/a"`)
	require.ErrorContains(t, err, "already registered")
	_, err = ext.RegisterCapture(id, nil)
	require.ErrorContains(t, err, "nil capture")

	unregister()
	_, ok := ext.captures.get("session_capture/a")
	require.False(t, ok)
	again, err := ext.RegisterCapture(id, newFakeCapture(st))
	require.NoError(t, err, "free again after unregister")
	unregister() // stale: must not remove the new registration
	_, ok = ext.captures.get("session_capture/a")
	require.True(t, ok)
	again()
	again()

	rid := component.MustNewIDWithName("session_replay", "shard0")
	unregisterReplay, err := ext.RegisterReplay(rid, newFakeReplay(st))
	require.NoError(t, err)
	_, err = ext.RegisterReplay(rid, newFakeReplay(st))
	require.ErrorContains(t, err, "already registered")
	_, err = ext.RegisterReplay(component.MustNewID("session_replay"), nil)
	require.ErrorContains(t, err, "nil replay")
	assert.Empty(t, ext.captures.all())
	assert.Len(t, ext.replays.all(), 1)
	unregisterReplay()
	assert.Empty(t, ext.replays.all())
}

// TestRegistryConcurrent: registering, unregistering and serving at once
// (run with -race).
func TestRegistryConcurrent(t *testing.T) {
	a := startAPI(t, nil, nil)
	st := openStore(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				id := component.MustNewIDWithName("session_capture", fmt.Sprintf("c%d-%d", i, j))
				un, err := a.ext.RegisterCapture(id, newFakeCapture(st))
				assert.NoError(t, err)
				rid := component.MustNewIDWithName("session_replay", fmt.Sprintf("r%d-%d", i, j))
				unr, err := a.ext.RegisterReplay(rid, newFakeReplay(st))
				assert.NoError(t, err)
				un()
				unr()
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 10 {
				for _, p := range []string{"/v1/captures", "/v1/replays", "/v1/sessions"} {
					assert.Equal(t, http.StatusOK, a.do("GET", p, "").status)
				}
			}
		})
	}
	wg.Wait()
	assert.Empty(t, a.ext.captures.all())
	assert.Empty(t, a.ext.replays.all())
}

// TestFindThroughHost: a component finds the extension through its host
// with controlreg.Find, as at its Start.
func TestFindThroughHost(t *testing.T) {
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), createDefaultConfig())
	require.NoError(t, err)
	id := component.MustNewID("session_control")
	host := authHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{id: ext}}
	reg, err := controlreg.Find(host, id)
	require.NoError(t, err)
	un, err := reg.RegisterCapture(component.MustNewID("session_capture"), newFakeCapture(openStore(t)))
	require.NoError(t, err)
	un()
}

// TestShutdownWithoutStart: Shutdown works without Start, and twice after
// it.
func TestShutdownWithoutStart(t *testing.T) {
	ext := newControlExtension(createDefaultConfig().(*Config), extensiontest.NewNopSettings(metadata.Type))
	require.NoError(t, ext.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))

	a := startAPI(t, nil, nil)
	require.NoError(t, a.ext.Shutdown(context.Background()))
	require.NoError(t, a.ext.Shutdown(context.Background()))
	_, err := a.cl.Get(a.base + "/v1/captures")
	require.Error(t, err, "no longer listening")
}

// TestStartPortInUse: a taken port fails Start, so the collector does not
// start without its control API.
func TestStartPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports.Free(t)))
	require.NoError(t, err)
	defer ln.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = ln.Addr().String()
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.ErrorContains(t, ext.Start(context.Background(), componenttest.NewNopHost()), "address already in use")
	require.NoError(t, ext.Shutdown(context.Background()))
}

// TestShutdownCutsOffSlowRequest: a request still running when Shutdown's
// ctx ends (a replay that takes long to stop) does not hold Shutdown.
func TestShutdownCutsOffSlowRequest(t *testing.T) {
	a := startAPI(t, nil, nil)
	slow := newFakeReplay(openStore(t))
	slow.stopping, slow.release = make(chan struct{}, 1), make(chan struct{})
	defer close(slow.release)
	un, err := a.ext.RegisterReplay(component.MustNewID("session_replay"), slow)
	require.NoError(t, err)
	defer un()

	sent := make(chan error, 1)
	go func() {
		resp, err := a.cl.Post(a.base+"/v1/replays/session_replay/stop", "", nil)
		if err == nil {
			_ = resp.Body.Close()
		}
		sent <- err
	}()
	select {
	case <-slow.stopping:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the replay")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = a.ext.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.Error(t, <-sent, "the request's connection was closed")
}

// TestBrowserGuard: the API refuses what another site's page could send it
// (cross-site request forgery: a foreign Origin, Sec-Fetch-Site other than
// same-origin) and, on loopback, a Host that is not loopback (DNS
// rebinding: a rebound name is its own origin); curl and sessionctl, which
// send neither header, and the session browser's own requests (same
// origin, loopback Host) get through.
func TestBrowserGuard(t *testing.T) {
	a := startAPI(t, nil, nil)
	self := strings.TrimPrefix(a.base, "http://")
	for _, headers := range [][]string{
		{"Origin: http://evil.example"},
		{"Origin: null"},
		{"Origin: http://localhost:1"}, // another port is another origin
		{"Sec-Fetch-Site: cross-site"},
		{"Sec-Fetch-Site: same-site"},
		{"Sec-Fetch-Site: same-origin", "Origin: http://evil.example"},
		{"Sec-Fetch-Site: same-origin", "Host: attacker.example:4320"}, // rebinding
		{"Host: attacker.example:4320"},
		{"Host: 127.0.0.1.attacker.example"},
	} {
		requireError(t, a.do("POST", "/v1/captures/session_capture/pause", `{"id": "evil"}`, headers...), http.StatusForbidden, "forbidden")
		requireError(t, a.do("GET", "/v1/sessions", "", headers...), http.StatusForbidden, "forbidden")
	}
	// a navigation the user made (typed, bookmarked) reads; it never writes
	r := a.do("GET", "/v1/captures", "", "Sec-Fetch-Site: none")
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
	requireError(t, a.do("POST", "/v1/captures/session_capture/pause", "", "Sec-Fetch-Site: none"), http.StatusForbidden, "forbidden")
	// the session browser's own requests
	for _, headers := range [][]string{
		{"Sec-Fetch-Site: same-origin"},
		{"Sec-Fetch-Site: same-origin", "Origin: http://" + self},
		{"Origin: http://" + self},
	} {
		r := a.do("GET", "/v1/captures", "", headers...)
		assert.Equal(t, http.StatusOK, r.status, "%v: %s", headers, r.body)
		r = a.do("POST", "/v1/captures/nope/pause", "", headers...)
		assert.Equal(t, http.StatusNotFound, r.status, "%v: past the guard: %s", headers, r.body)
	}
	for _, host := range []string{"localhost:4320", "127.0.0.1:4320", "[::1]:4320", "127.1.2.3"} {
		r := a.do("GET", "/v1/captures", "", "Host: "+host)
		assert.Equal(t, http.StatusOK, r.status, "Host %s: %s", host, r.body)
	}
}

// TestSessionBrowserServed: /ui/ is the session browser, embedded in the
// binary: a page that cannot be framed by another site, with its assets,
// all of it under 200 KB; its data comes from the API, with the API's
// token.
func TestSessionBrowserServed(t *testing.T) {
	a := startAPI(t, func(c *Config) { c.Token = "tok" }, nil)
	page := a.do("GET", "/ui/", "", "Sec-Fetch-Site: none")
	require.Equal(t, http.StatusOK, page.status, "%s", page.body)
	assert.Contains(t, page.header.Get("Content-Type"), "text/html")
	assert.Contains(t, page.header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Contains(t, page.header.Get("Content-Security-Policy"), "default-src 'self'")
	total := len(page.body)
	for _, m := range regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`).FindAllStringSubmatch(string(page.body), -1) {
		asset := a.do("GET", m[1], "", "Sec-Fetch-Site: same-origin")
		require.Equal(t, http.StatusOK, asset.status, "%s: %s", m[1], asset.body)
		total += len(asset.body)
	}
	assert.Less(t, total, 200<<10, "the page and its assets")
	bare := a.do("GET", "/ui", "") // redirected to /ui/ (the client follows)
	assert.Equal(t, http.StatusOK, bare.status)
	assert.Equal(t, page.body, bare.body)
	// the data needs the token, from the page as from anyone
	requireError(t, a.do("GET", "/v1/sessions", "", "Sec-Fetch-Site: same-origin"), http.StatusUnauthorized, "unauthorized")
	requireError(t, a.do("GET", "/ui/", "", "Sec-Fetch-Site: cross-site"), http.StatusForbidden, "forbidden")
}

// TestTokenWhitespace: a configured token with surrounding whitespace (a
// trailing newline from a Secret file) is the token without it.
func TestTokenWhitespace(t *testing.T) {
	a := startAPI(t, func(c *Config) { c.Token = "tok\n" }, nil)
	r := a.do("GET", "/v1/captures", "", "Authorization: Bearer tok")
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

// TestBlankTokenNeverAuthenticates: a presented token that is empty once
// trimmed (nothing after "Bearer", or only whitespace such as U+00A0) is
// refused, also when the configured token is blank as well (a config that
// did not go through Validate).
func TestBlankTokenNeverAuthenticates(t *testing.T) {
	blanks := []string{"Authorization: Bearer ", "Authorization: Bearer \u00a0", "Authorization: Bearer \t", "Authorization: Bearer \u2003\u00a0"}
	for _, configured := range []string{"tok", "\n", " "} {
		a := startAPI(t, func(c *Config) { c.Token = configopaque.String(configured) }, nil)
		for _, h := range blanks {
			t.Run(fmt.Sprintf("%q/%q", configured, h), func(t *testing.T) {
				for _, path := range []string{"/v1/sessions", "/v1/captures"} {
					requireError(t, a.do("GET", path, "", h), http.StatusUnauthorized, "unauthorized")
				}
				requireError(t, a.do("POST", "/v1/replays/x/start", "{}", h), http.StatusUnauthorized, "unauthorized")
			})
		}
	}
}
