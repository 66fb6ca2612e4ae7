// Package bench runs the whole-collector benchmarks of make bench-peers and
// make bench-seed: collectors and telemetrygen as child processes on
// loopback, measured from /proc, the wait4 usage of the processes and the
// collectors' own metrics, and the BENCHMARKS.md section of bench-peers.
package bench // import "github.com/recordreplay/otelcol-recordreplay/internal/bench"

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/proc"
)

// freePort is a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// collector is a collector child process whose own metrics are served (in
// Prometheus format) on 127.0.0.1:metricsPort.
type collector struct {
	*proc.Process
	metricsPort int
	log         string
}

// startCollector writes config (with {{METRICS_PORT}} replaced by a free
// port for the collector's metrics) to dir/config.yaml, starts bin on it
// with env, its output in log, and waits up to 30 s until its metrics answer.
func startCollector(ctx context.Context, bin, dir, config, log string, env []string) (*collector, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.yaml")
	config = strings.ReplaceAll(config, "{{METRICS_PORT}}", strconv.Itoa(port))
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	p, err := proc.Start(proc.Spec{Path: bin, Args: []string{"--config", cfg}, Env: env, Log: log, DieWithParent: true})
	if err != nil {
		return nil, err
	}
	c := &collector{Process: p, metricsPort: port, log: log}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := proc.WaitHTTP(wctx, c.metricsURL(), func(s int) bool { return s/100 == 2 }, p); err != nil {
		p.Kill()
		return nil, fmt.Errorf("%w; last lines of %s:\n%s", err, log, strings.Join(proc.LogTail(log, 20), "\n"))
	}
	return c, nil
}

// otlpConfig is the config of a collector that takes OTLP/gRPC on
// 127.0.0.1:grpc into otlp -> batch -> the exporter named name (its config
// exporter) in the pipelines of signals, and serves its own metrics on
// {{METRICS_PORT}}.
func otlpConfig(grpc int, name, exporter string, signals ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%d"}
processors:
  batch: {}
exporters:
  %s
service:
  telemetry:
    logs: {level: warn}
    metrics:
      level: basic
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: {{METRICS_PORT}}}}}
  pipelines:
`, grpc, exporter)
	for _, s := range signals {
		fmt.Fprintf(&b, "    %s: {receivers: [otlp], processors: [batch], exporters: [%s]}\n", s, name)
	}
	return b.String()
}

func (c *collector) metricsURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(c.metricsPort) + "/metrics"
}

var metricsClient = &http.Client{Timeout: 5 * time.Second}

// sum is the sum of the collector's metrics whose names (with their
// labels) start with one of prefixes; 0 when it does not answer.
func (c *collector) sum(ctx context.Context, prefixes ...string) int64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.metricsURL(), http.NoBody)
	if err != nil {
		return 0
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0
	}
	return sumMetrics(io.LimitReader(resp.Body, 16<<20), prefixes)
}

// sumMetrics sums the values of the Prometheus text lines whose names
// start with one of prefixes.
func sumMetrics(r io.Reader, prefixes []string) int64 {
	var total float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(f[0], p) {
				if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
					total += v
				}
				break
			}
		}
	}
	return int64(total)
}
