package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// maxResponseBytes bounds an answer of the control API (a session's
// metadata.json is at most 8 MiB; a list of sessions is larger).
const maxResponseBytes = 64 << 20

// Environment variables the token of the control API comes from when
// --token is not given, in this order (CONTROL_TOKEN is the one the
// default collector config reads).
var tokenEnv = []string{"SESSIONCTL_CONTROL_TOKEN", "CONTROL_TOKEN"}

// apiClient talks to a collector's session_control extension.
type apiClient struct {
	base  string // scheme://host:port[/prefix], without a trailing "/"
	token string
	hc    *http.Client
	tr    *http.Transport
}

// newAPIClient returns a client of the API at rawURL; a bare host:port
// (as CONTROL_ENDPOINT is written) means http://host:port.
func newAPIClient(rawURL, token string, timeout time.Duration) (*apiClient, error) {
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--control %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--control %q: want http://host:port or https://host:port", rawURL)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("--timeout %s: must be positive", timeout)
	}
	if token == "" {
		for _, env := range tokenEnv {
			if token = os.Getenv(env); token != "" {
				break
			}
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &apiClient{
		base:  strings.TrimSuffix(u.String(), "/"),
		token: token,
		hc:    &http.Client{Transport: tr, Timeout: timeout},
		tr:    tr,
	}, nil
}

func (a *apiClient) close() { a.tr.CloseIdleConnections() }

// apiError is an error answer of the API: {"error": code, "detail": …}.
type apiError struct {
	Status int    `json:"-"`
	Code   string `json:"error"`
	Detail string `json:"detail"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Detail }

// connError is a request that got no answer.
type connError struct {
	base, method, path string
	err                error
}

func (e *connError) Error() string {
	return fmt.Sprintf("control API at %s: %s %s: %v", e.base, e.method, e.path, e.err)
}

func (e *connError) Unwrap() error { return e.err }

// do sends a request to path (escaped already) with query and, unless nil,
// body as JSON, and returns the answer's body: a JSON document when the
// status is 2xx, else an *apiError.
func (a *apiClient) do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	target := a.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, &connError{a.base, method, path, err}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // it repeats the URL, with the token-free query: say it once
		}
		return nil, &connError{a.base, method, path, err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err == nil && len(data) > maxResponseBytes {
		err = fmt.Errorf("answer over %d bytes", maxResponseBytes)
	}
	if err != nil {
		return nil, &connError{a.base, method, path, fmt.Errorf("read answer (HTTP %d): %w", resp.StatusCode, err)}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	isJSON := mt == "application/json" && json.Valid(data)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if !isJSON {
			return nil, &connError{a.base, method, path, fmt.Errorf("HTTP %d with %s, not JSON: %q (is this the session_control API?)",
				resp.StatusCode, orNone(resp.Header.Get("Content-Type")), snippet(data))}
		}
		return data, nil
	}
	e := &apiError{Status: resp.StatusCode}
	if !isJSON || json.Unmarshal(data, e) != nil || e.Code == "" {
		e.Code = fmt.Sprintf("HTTP %d", resp.StatusCode)
		e.Detail = fmt.Sprintf("%s %s%s: %q (is this the session_control API?)", method, a.base, path, snippet(data))
	}
	return nil, e
}

func orNone(s string) string {
	if s == "" {
		return "no Content-Type"
	}
	return s
}

// snippet is the start of a body, for a message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// get GETs path and decodes the answer into v (unless nil); it returns the
// answer as it came.
func (a *apiClient) get(ctx context.Context, path string, query url.Values, v any) ([]byte, error) {
	data, err := a.do(ctx, http.MethodGet, path, query, nil)
	return data, a.unmarshal(data, err, v)
}

// post POSTs body (nil: none) to path and decodes the answer into v.
func (a *apiClient) post(ctx context.Context, path string, body, v any) ([]byte, error) {
	data, err := a.do(ctx, http.MethodPost, path, nil, body)
	return data, a.unmarshal(data, err, v)
}

func (a *apiClient) unmarshal(data []byte, err error, v any) error {
	if err != nil || v == nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("control API at %s: decode answer: %w", a.base, err)
	}
	return nil
}

// componentPath is the path of a component: the API's prefix and the id
// as one escaped segment (session_replay/shard0 → session_replay%2Fshard0).
func componentPath(kind, id string) string {
	return "/v1/" + kind + "/" + url.PathEscape(id)
}
