package versitygw

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
)

func TestSpec(t *testing.T) {
	c := Config{Bin: "/bin/versitygw", Addr: "127.0.0.1:9000", Dir: "/d", AccessKey: "a", SecretKey: "s", Quiet: true}
	spec, err := c.Spec("/l.log")
	require.NoError(t, err)
	assert.Equal(t, []string{"--quiet", "--port", "127.0.0.1:9000", "posix", "/d"}, spec.Args)
	assert.Equal(t, []string{"ROOT_ACCESS_KEY=a", "ROOT_SECRET_KEY=s"}, spec.Env)
	assert.Equal(t, "/l.log", spec.Log)
	assert.Equal(t, "http://127.0.0.1:9000", c.Endpoint())

	c.Quiet, c.CertFile, c.KeyFile = false, "/c.pem", "/k.pem"
	spec, err = c.Spec("")
	require.NoError(t, err)
	assert.Equal(t, []string{"--port", "127.0.0.1:9000", "--cert", "/c.pem", "--key", "/k.pem", "posix", "/d"}, spec.Args)
	assert.Equal(t, "https://127.0.0.1:9000", c.Endpoint())

	for _, bad := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Addr = "9000" }, `versitygw address "9000"`},
		{func(c *Config) { c.Addr = "0.0.0.0:9000" }, `versitygw address "0.0.0.0:9000": want a loopback address`},
		{func(c *Config) { c.Addr = "example.com:9000" }, `"example.com:9000": want a loopback address`},
		{func(c *Config) { c.Bin = "" }, "no versitygw binary"},
		{func(c *Config) { c.Dir = "" }, "no directory"},
		{func(c *Config) { c.SecretKey = "" }, "root access key and secret key"},
		{func(c *Config) { c.KeyFile = "" }, `both a certificate ("/c.pem") and a key ("")`},
	} {
		b := c
		bad.edit(&b)
		_, err := b.Spec("")
		assert.ErrorContains(t, err, bad.want)
	}
}

// TestServer: a server starts, takes a bucket (once), stops, starts again
// on the same address and data.
func TestServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts versitygw")
	}
	bin, err := Binary()
	if err != nil {
		if os.Getenv("RECORDREPLAY_REQUIRE_S3") == "1" {
			t.Fatalf("versitygw not found (run `make tools`): %v", err)
		}
		t.Skipf("versitygw not found: %v", err)
	}
	dir := t.TempDir()
	c := Config{Bin: bin, Addr: "127.0.0.1:" + strconv.Itoa(ports.Free(t)), Dir: filepath.Join(dir, "s3"),
		AccessKey: "test", SecretKey: "test-secret", Quiet: true}
	require.NoError(t, os.MkdirAll(c.Dir, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, c, filepath.Join(dir, "versitygw.log"))
	require.NoError(t, err)
	t.Cleanup(s.Stop)

	assert.False(t, c.HasBucket("bucket-one"))
	require.NoError(t, c.CreateBucket(ctx, "bucket-one"))
	assert.True(t, c.HasBucket("bucket-one"), "the posix backend's bucket is a directory")
	err = c.CreateBucket(ctx, "bucket-one")
	assert.ErrorContains(t, err, "create bucket bucket-one at "+c.Endpoint(), "the server's answer is final")
	other := c
	other.SecretKey = "wrong"
	assert.Error(t, other.CreateBucket(ctx, "bucket-two"), "a bad signature")

	pid := s.Process().Pid()
	require.NoError(t, s.Restart(ctx), "running: nothing to do")
	assert.Equal(t, pid, s.Process().Pid())
	s.Stop()
	assert.Nil(t, s.Process())
	_, err = net.Dial("tcp", c.Addr)
	assert.Error(t, err, "stopped")
	require.NoError(t, s.Restart(ctx))
	require.NoError(t, c.CreateBucket(ctx, "bucket-two"))
	require.NoError(t, s.Shutdown(10*time.Second))
	assert.DirExists(t, filepath.Join(c.Dir, "bucket-two"))
}

func TestStartFails(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// a "server" that exits at once, saying why
	script := filepath.Join(dir, "versitygw")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho cannot serve: $*\nexit 1\n"), 0o755))
	c := Config{Bin: script, Addr: "127.0.0.1:" + strconv.Itoa(ports.Free(t)), Dir: dir, AccessKey: "a", SecretKey: "b"}
	_, err := Start(ctx, c, filepath.Join(dir, "log"))
	require.Error(t, err)
	assert.ErrorContains(t, err, "versitygw did not listen")
	assert.ErrorContains(t, err, "the process exited")
	assert.ErrorContains(t, err, "cannot serve: --port "+c.Addr+" posix "+dir)
}
