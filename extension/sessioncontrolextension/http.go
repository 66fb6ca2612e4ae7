package sessioncontrolextension // import "github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// Error codes of the API's error bodies.
const (
	codeBadRequest       = "bad_request"
	codeUnauthorized     = "unauthorized"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeConflict         = "conflict"
	codeTooLarge         = "too_large"
	codeInternal         = "internal"
	codeForbidden        = "forbidden"
)

// apiError is the body of every error response. State is the component's
// state, on errors of a request to a registered component.
type apiError struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
	State  any    `json:"state,omitempty"`
}

// writeJSON writes v indented and without HTML escapes, for people
// reading it with curl.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		_ = enc.Encode(apiError{Error: codeInternal, Detail: "encode response: " + err.Error()})
	}
	writeBody(w, status, buf.Bytes())
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError writes an error body and notes the detail for the request's
// log line.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	writeErrorState(w, r, status, code, detail, nil)
}

func writeErrorState(w http.ResponseWriter, r *http.Request, status int, code, detail string, state any) {
	if l, ok := r.Context().Value(logKey{}).(*requestLog); ok {
		l.detail = detail
	}
	writeJSON(w, status, apiError{Error: code, Detail: detail, State: state})
}

// writeServerError answers the errors confighttp raises before the API
// sees a request (an authenticator's refusal, an undecodable body) in the
// API's error shape.
func writeServerError(w http.ResponseWriter, r *http.Request, msg string, status int) {
	code := codeBadRequest
	switch status {
	case http.StatusUnauthorized:
		code = codeUnauthorized
	case http.StatusRequestEntityTooLarge:
		code = codeTooLarge
	default:
		if status >= 500 {
			code = codeInternal
		}
	}
	writeError(w, r, status, code, msg)
}

// errBadBody is a request body that is not the expected JSON object.
var errBadBody = errors.New("bad request body")

// decodeBody decodes the JSON object of r's body into v, strictly: an
// unknown field, a value of the wrong type or trailing data is an error
// that names the field or the offset. An empty body leaves v as it is. It
// writes the error response itself and reports whether to go on.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBodyWith(w, r, v, decodeStrict)
}

// decodeWebhook is decodeBody for a body of another system's shape
// (Alertmanager's), whose fields it does not know all of: unknown fields
// are ignored.
func decodeWebhook(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBodyWith(w, r, v, func(data []byte, v any) error {
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("bad request body: %w", err)
		}
		return nil
	})
}

func decodeBodyWith(w http.ResponseWriter, r *http.Request, v any, decode func([]byte, any) error) bool {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if maxErr, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, r, http.StatusRequestEntityTooLarge, codeTooLarge,
				fmt.Sprintf("request body over %d bytes", maxErr.Limit))
			return false
		}
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "read request body: "+err.Error())
		return false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return true
	}
	if err := decode(data, v); err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return false
	}
	return true
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
			return fmt.Errorf("%w: data after the JSON object at offset %d", errBadBody, dec.InputOffset())
		}
		return nil
	}
	if syntaxErr, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Errorf("%w: malformed JSON at offset %d: %s", errBadBody, syntaxErr.Offset, syntaxErr.Error())
	}
	if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if typeErr.Field == "" {
			return fmt.Errorf("%w: want a JSON object, got %s", errBadBody, typeErr.Value)
		}
		return fmt.Errorf("%w: field %s: want %s, got %s", errBadBody, typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: malformed JSON: unexpected end of input", errBadBody)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field ") {
		return fmt.Errorf("%w: %s", errBadBody, msg)
	}
	// A value's own decoder refused it (a duration): find whose.
	if field := failingField(data, v); field != "" {
		return fmt.Errorf("%w: field %s: %s", errBadBody, field, msg)
	}
	return fmt.Errorf("%w: %s", errBadBody, msg)
}

// failingField returns the top-level field of the JSON object data that
// does not decode into a fresh value of v's type, for errors that do not
// say (a TextUnmarshaler's).
func failingField(data []byte, v any) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return ""
	}
	typ := reflect.TypeOf(v).Elem()
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range fields {
			if !yield(k) {
				return
			}
		}
	}) {
		one, err := json.Marshal(map[string]json.RawMessage{name: fields[name]})
		if err != nil {
			continue
		}
		if json.Unmarshal(one, reflect.New(typ).Interface()) != nil {
			return name
		}
	}
	return ""
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// jsonKind names a Go type as JSON would spell it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string" // a duration, a time
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

// withBrowserGuard refuses what another site's page could send: the API
// answers its own page (the session browser, /ui/) and HTTP clients, and
// nothing else a browser carries. A request is refused when
//   - its Sec-Fetch-Site is cross-site or same-site (another port of
//     localhost is same-site, and another origin), or none (a navigation
//     the user made) on anything but a read;
//   - its Origin is set and is not this server's own (http(s)://Host);
//   - on a loopback endpoint, its Host is not a loopback name or address:
//     a page whose own name was re-pointed at 127.0.0.1 (DNS rebinding)
//     is same-origin with itself, and would otherwise read the API.
//
// curl and sessionctl send neither header and get through; so do the
// session browser's requests, which browsers mark same-origin.
func withBrowserGuard(next http.Handler, loopback bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := crossSite(r); reason != "" {
			writeError(w, r, http.StatusForbidden, codeForbidden,
				"a request from another site's page is refused ("+reason+"): use the session browser at /ui/, curl, sessionctl or another HTTP client")
			return
		}
		if loopback && !loopbackHost(r.Host) {
			writeError(w, r, http.StatusForbidden, codeForbidden,
				fmt.Sprintf("Host %q is not a loopback name or address (the endpoint is loopback)", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossSite says why r comes from another site's page, or "".
func crossSite(r *http.Request) string {
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin":
	case "none":
		if !read {
			return "Sec-Fetch-Site: none on a " + r.Method
		}
	default:
		return "Sec-Fetch-Site: " + site
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		if !strings.EqualFold(origin, scheme+r.Host) {
			return "Origin " + origin + " is not this server's"
		}
	}
	return ""
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withToken requires `Authorization: Bearer <token>` of every request when
// a token is configured. Both tokens are compared with surrounding
// whitespace trimmed; a presented token that is then empty never passes.
func (e *controlExtension) withToken(next http.Handler) http.Handler {
	if e.cfg.Token == "" {
		return next
	}
	// Hashes of equal length, so that the comparison takes the same time
	// whatever the length of the presented token.
	want := sha256.Sum256([]byte(strings.TrimSpace(string(e.cfg.Token))))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="session_control"`)
			writeError(w, r, http.StatusUnauthorized, codeUnauthorized, "missing \"Authorization: Bearer <token>\" header")
			return
		}
		token = strings.TrimSpace(token)
		if token == "" {
			// Never a match, also for a blank configured token (one
			// that did not go through Validate): nothing is no token.
			w.Header().Set("WWW-Authenticate", `Bearer realm="session_control", error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, codeUnauthorized, "empty token")
			return
		}
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="session_control", error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, codeUnauthorized, "wrong token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logKey is the context key of a request's *requestLog.
type logKey struct{}

// requestLog collects what the request's log line says beyond the
// request itself.
type requestLog struct {
	detail string // of an error response
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one line per request: method, path (never the query,
// which an authenticator may read credentials from, nor any header),
// status, duration and remote address, and the detail of an error.
func (e *controlExtension) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		l := &requestLog{}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), logKey{}, l)))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		fields := []zap.Field{
			zap.String("method", r.Method),
			zap.String("path", r.URL.EscapedPath()),
			zap.Int("status", rec.status),
			zap.Duration("duration", time.Since(start)),
			zap.String("remote", r.RemoteAddr),
		}
		if l.detail != "" {
			fields = append(fields, zap.String("error", l.detail))
		}
		e.set.Logger.Info("Control API request", fields...)
	})
}
