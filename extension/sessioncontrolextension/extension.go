package sessioncontrolextension // import "github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/extension"
	"go.uber.org/zap"

	"github.com/recordreplay/otelcol-recordreplay/internal/control"
)

// controlExtension serves the control API and is the registry components
// register with.
type controlExtension struct {
	cfg      *Config
	set      extension.Settings
	captures *registry[control.Capture]
	replays  *registry[control.Replay]

	mu     sync.Mutex // guards server and addr
	server *http.Server
	addr   net.Addr // where the server listens, once started
	serve  sync.WaitGroup
}

func newControlExtension(cfg *Config, set extension.Settings) *controlExtension {
	return &controlExtension{
		cfg:      cfg,
		set:      set,
		captures: newRegistry[control.Capture]("capture"),
		replays:  newRegistry[control.Replay]("replay"),
	}
}

// Start listens on the endpoint and serves the API. The listener is opened
// here, so that a port in use fails the collector's start.
func (e *controlExtension) Start(ctx context.Context, host component.Host) error {
	ln, err := e.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return err
	}
	local, err := isLocal(e.cfg.ServerConfig.NetAddr)
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv, err := e.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings,
		withBrowserGuard(withSessionBrowser(e.withToken(e.routes())), local), confighttp.WithErrorHandler(writeServerError))
	if err != nil {
		_ = ln.Close()
		return err
	}
	// Outermost, so that every request is logged, those an authenticator
	// refused included.
	srv.Handler = e.logRequests(srv.Handler)

	e.mu.Lock()
	e.server, e.addr = srv, ln.Addr()
	e.mu.Unlock()

	e.set.Logger.Info("Session control API listening",
		zap.Stringer("address", ln.Addr()),
		zap.Bool("token", e.cfg.Token != ""),
		zap.Bool("auth", e.cfg.ServerConfig.Auth.HasValue()),
		zap.Bool("tls", e.cfg.ServerConfig.TLS.HasValue()))
	if !local && e.cfg.Token != "" && !e.cfg.ServerConfig.TLS.HasValue() {
		e.set.Logger.Warn("The control API is reachable from other hosts over plain HTTP: its token travels in clear text; configure tls")
	}
	e.serve.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// Shutdown stops accepting requests and waits for those in flight until ctx
// ends, then closes their connections. It works without Start, and twice.
func (e *controlExtension) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	srv := e.server
	e.server = nil
	e.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		// In-flight requests outlived ctx: cut them off.
		err = errors.Join(err, srv.Close())
	}
	e.serve.Wait()
	return err
}
