package s3server // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/s3server"

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/recordreplay/otelcol-recordreplay/internal/testutil/ports"
	"github.com/recordreplay/otelcol-recordreplay/internal/versitygw"
)

// TLS starts a second versitygw process on the same directory that serves
// HTTPS with a certificate for 127.0.0.1 issued by a CA made for this test,
// and returns its endpoint (https://127.0.0.1:PORT) and the CA certificate
// (PEM): a client trusts the endpoint only if it trusts that CA. The plain
// endpoint stays for the test's own set-up and checks. It stops when the
// test ends.
func (s *Server) TLS(tb testing.TB) (endpoint string, caPEM []byte) {
	tb.Helper()
	dir := tb.TempDir()
	caPEM, certPEM, keyPEM := issue(tb)
	cfg := s.srv.Config
	cfg.Addr = "127.0.0.1:" + strconv.Itoa(ports.Free(tb))
	cfg.CertFile, cfg.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(tb, os.WriteFile(cfg.CertFile, certPEM, 0o600))
	require.NoError(tb, os.WriteFile(cfg.KeyFile, keyPEM, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), waitStart)
	defer cancel()
	srv, err := versitygw.Start(ctx, cfg, filepath.Join(dir, "versitygw-tls.log"))
	require.NoError(tb, err)
	tb.Cleanup(srv.Stop)
	return srv.Endpoint(), caPEM
}

// issue makes a CA and a server certificate for 127.0.0.1 signed by it.
func issue(tb testing.TB) (caPEM, certPEM, keyPEM []byte) {
	tb.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "otelcol-recordreplay test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(tb, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(tb, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	require.NoError(tb, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(tb, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
