package sessionstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// s3Errors serves S3 error responses: a PUT of key "<status>/<code>" is
// answered with that status and error code, a HEAD of the bucket with
// headStatus. It speaks the S3 wire format, so the SDK parses the answers
// exactly as it parses a real server's.
func s3Errors(t *testing.T, headStatus int) sessionstore.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = r.Body.Read(make([]byte, 1<<16))
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/bucket/"), "/", 2)
		switch {
		case r.Method == http.MethodHead:
			w.WriteHeader(headStatus)
			return
		case r.Method == http.MethodPut && len(parts) == 2:
			status := 0
			_, _ = fmt.Sscan(parts[0], &status)
			if status == 0 {
				w.WriteHeader(http.StatusOK)
				return
			}
			if parts[1] == "PermanentRedirect" {
				w.Header().Set("x-amz-bucket-region", "eu-west-1")
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>test</Message><RequestId>1</RequestId></Error>`, parts[1])
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	cfg := sessionstore.NewDefaultConfig()
	cfg.Backend = sessionstore.BackendS3
	cfg.S3.Bucket = "bucket"
	cfg.S3.Endpoint = srv.URL
	cfg.S3.UsePathStyle = true
	cfg.S3.AccessKeyID = "k"
	cfg.S3.SecretAccessKey = "s"
	return cfg
}

// TestS3ErrorsNamedRight: answers no retry can change are permanent, with a
// message that says what to change; the rest stay retryable.
func TestS3ErrorsNamedRight(t *testing.T) {
	cfg := s3Errors(t, http.StatusOK)
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	defer st.Close()
	tests := []struct {
		status    int
		code      string
		permanent bool
		hint      string
	}{
		{400, "InvalidArgument", true, "InvalidArgument"},
		{400, "InvalidRequest", true, "InvalidRequest"},
		{400, "AuthorizationHeaderMalformed", true, "store.s3.region"},
		{301, "PermanentRedirect", true, "eu-west-1"},
		{400, "XAmzContentSHA256Mismatch", true, "checksum"},
		{501, "NotImplemented", true, "does not implement"},
		{400, "EntityTooLarge", true, "too large"},
		{403, "AccessDenied", true, "AccessDenied"},
		{403, "InvalidObjectState", true, "restore"}, // archived by a lifecycle rule
		{503, "SlowDown", false, ""},
		{500, "InternalError", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := st.Put(context.Background(), fmt.Sprintf("%d/%s", tt.status, tt.code), []byte("x"))
			require.Error(t, err)
			assert.Equal(t, tt.permanent, sessionstore.IsPermanent(err), "%v", err)
			assert.Contains(t, err.Error(), tt.hint)
		})
	}
}

// TestS3PingWithWriteOnlyPolicy: a capture that may only write under its
// prefix (no s3:ListBucket, so HEAD bucket is refused) still starts: the
// start check falls back to writing a probe object.
func TestS3PingWithWriteOnlyPolicy(t *testing.T) {
	cfg := s3Errors(t, http.StatusForbidden)
	cfg.S3.Prefix = "team-a"
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Ping(context.Background()))
}

// TestS3TLSCertificateIsPermanent: an endpoint whose certificate the
// client does not trust fails the start check permanently, saying how to
// fix it, instead of being retried forever.
func TestS3TLSCertificateIsPermanent(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(srv.Close)
	cfg := sessionstore.NewDefaultConfig()
	cfg.Backend = sessionstore.BackendS3
	cfg.S3.Bucket = "bucket"
	cfg.S3.Endpoint = srv.URL
	cfg.S3.UsePathStyle = true
	cfg.S3.AccessKeyID = "k"
	cfg.S3.SecretAccessKey = "s"
	st, err := sessionstore.Open(context.Background(), &cfg)
	require.NoError(t, err)
	defer st.Close()
	err = st.Ping(context.Background())
	require.Error(t, err)
	assert.True(t, sessionstore.IsPermanent(err), "%v", err)
	assert.Contains(t, err.Error(), "store.s3.tls")
}
