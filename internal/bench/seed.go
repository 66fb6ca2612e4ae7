package bench // import "github.com/recordreplay/otelcol-recordreplay/internal/bench"

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/proc"
)

// SeedConfig are the settings of make bench-seed (environment variables):
//
//	SECONDS_PER_RUN  seconds of telemetrygen per rate (10)
//	RATES            telemetrygen's --rate values, spans/s per worker ("2000 5000 10000 20000")
//	WORKERS          telemetrygen workers (8)
type SeedConfig struct {
	Root    string // the repository: bin/, and where the outputs go
	Seconds int
	Rates   []int
	Workers int
}

// SeedConfigFromEnv reads the settings, with their defaults, from env.
func SeedConfigFromEnv(root string, env func(string) string) (SeedConfig, error) {
	c := SeedConfig{Root: root}
	get := func(name, def string) string {
		if v := env(name); v != "" {
			return v
		}
		return def
	}
	positive := func(name, v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s=%s: want whole numbers above 0", name, v)
		}
		return n, nil
	}
	var errs []error
	var err error
	if c.Seconds, err = positive("SECONDS_PER_RUN", get("SECONDS_PER_RUN", "10")); err != nil {
		errs = append(errs, err)
	}
	if c.Workers, err = positive("WORKERS", get("WORKERS", "8")); err != nil {
		errs = append(errs, err)
	}
	rates := get("RATES", "2000 5000 10000 20000")
	for _, f := range strings.Fields(rates) {
		n, err := positive("RATES", f)
		if err != nil {
			errs = append(errs, fmt.Errorf("RATES=%s: %q is not a whole number above 0", rates, f))
			break
		}
		c.Rates = append(c.Rates, n)
	}
	if len(c.Rates) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("RATES=%s: want at least one rate", rates))
	}
	return c, errors.Join(errs...)
}

// The generating collector: seed_gen, clock fast, exporting OTLP/gRPC.
const seedGeneratorConfig = `receivers:
  seed_gen: {pattern: basic-topology, clock: fast, traces_per_second: 2000, duration: 20s, start_time: "2026-11-28T12:00:00Z"}
exporters:
  otlp_grpc:
    endpoint: "127.0.0.1:%d"
    tls: {insecure: true}
    # split seed batches (1 s of virtual time) under gRPC's 4 MiB message limit
    sending_queue: {enabled: true, block_on_overflow: true, batch: {min_size: 4096, max_size: 8192}}
service:
  telemetry: {metrics: {level: none}, logs: {level: info}}
  pipelines:
    traces: {receivers: [seed_gen], exporters: [otlp_grpc]}
`

// RunSeed is make bench-seed: seed_gen's throughput in process (go test
// -bench), and spans delivered over OTLP/gRPC per CPU-second of the
// generating process, seed_gen's next to telemetrygen's at each rate. It
// writes bench-seed.out, bench-telemetrygen.out and bench-seed-otlp.out in
// the repository, and keeps the logs in /tmp/bench-seed-logs.
func RunSeed(ctx context.Context, c SeedConfig, stdout, stderr io.Writer) error {
	bin := filepath.Join(c.Root, "bin")
	fmt.Fprintln(stdout, "== seed_gen (clock: fast), go test -bench")
	if err := seedGoBench(ctx, c.Root, stdout); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "bench-seed-")
	if err != nil {
		return err
	}
	defer keepLogs(work, "bench-seed-logs")
	grpc, err := freePort()
	if err != nil {
		return err
	}
	// the receiving collector, counted by its otelcol_receiver_accepted_spans
	recv, err := startCollector(ctx, filepath.Join(bin, "otelcol-recordreplay"), work,
		otlpConfig(grpc, "debug", "debug: {verbosity: basic, sampling_initial: 1, sampling_thereafter: 1000}", "traces"),
		filepath.Join(work, "collector.log"), nil)
	if err != nil {
		return fmt.Errorf("the receiving collector did not start: %w", err)
	}
	defer recv.Kill()

	fmt.Fprintf(stdout, "== telemetrygen v0.161.0 -> otlp receiver, %d workers, %ds per rate (--rate is spans/s per worker)\n",
		c.Workers, c.Seconds)
	table, err := os.Create(filepath.Join(c.Root, "bench-telemetrygen.out"))
	if err != nil {
		return err
	}
	defer table.Close()
	out := io.MultiWriter(stdout, table)
	fmt.Fprintf(out, "%-22s %14s %16s %14s %18s\n", "--rate (per worker)", "spans offered/s", "spans accepted/s",
		"generator CPU-s", "spans per CPU-s")
	best, bestRate := math.Inf(-1), 0
	for _, rate := range c.Rates {
		before := recv.sum(ctx, "otelcol_receiver_accepted_spans")
		tg, err := proc.Start(proc.Spec{
			Path: filepath.Join(bin, "telemetrygen"),
			Args: []string{"traces", "--otlp-endpoint", "127.0.0.1:" + strconv.Itoa(grpc), "--otlp-insecure",
				"--rate", strconv.Itoa(rate), "--workers", strconv.Itoa(c.Workers), "--duration", strconv.Itoa(c.Seconds) + "s"},
			Log: filepath.Join(work, "tg.log"), DieWithParent: true,
		})
		if err != nil {
			return err
		}
		if err := waitExit(ctx, tg); err != nil {
			return err
		}
		if err := sleep(ctx, time.Second); err != nil { // let the last batch land
			return err
		}
		spans := float64(recv.sum(ctx, "otelcol_receiver_accepted_spans") - before)
		cpu := cpuSeconds(tg)
		perCPU := math.Round(spans / cpu)
		fmt.Fprintf(out, "%-22d %14.0f %16.0f %14.2f %18.0f\n", rate, float64(rate*c.Workers), spans/float64(c.Seconds), cpu, perCPU)
		if perCPU > best {
			best, bestRate = perCPU, rate
		}
	}

	fmt.Fprintln(stdout, "== seed_gen in bin/otelcol-recordreplay (clock fast, traces only) -> otlp_grpc -> the same otlp receiver")
	cfg := filepath.Join(work, "seed.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(seedGeneratorConfig, grpc)), 0o644); err != nil {
		return err
	}
	before := recv.sum(ctx, "otelcol_receiver_accepted_spans")
	start := time.Now()
	seedLog := filepath.Join(work, "seed.log")
	gen, err := proc.Start(proc.Spec{Path: filepath.Join(bin, "otelcol-recordreplay"), Args: []string{"--config", cfg},
		Log: seedLog, DieWithParent: true})
	if err != nil {
		return err
	}
	// until it logs that the pattern is over; then SIGTERM, so that its exporter drains
	if err := proc.WaitLog(ctx, seedLog, "Seed finished", gen); err != nil {
		gen.Kill()
		return fmt.Errorf("seed_gen: %w; last lines:\n%s", err, strings.Join(proc.LogTail(seedLog, 20), "\n"))
	}
	if _, err := gen.Stop(2 * time.Minute); err != nil {
		return err
	}
	elapsed := time.Since(start).Seconds()
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	spans := recv.sum(ctx, "otelcol_receiver_accepted_spans") - before
	cpu := cpuSeconds(gen)
	seedPerCPU := math.Round(float64(spans) / cpu)
	line := fmt.Sprintf("seed_gen over OTLP/gRPC: %d spans accepted in %.2fs = %.0f spans/s; generator CPU %.2f s = %.0f spans per CPU-second\n",
		spans, elapsed, float64(spans)/elapsed, cpu, seedPerCPU)
	fmt.Fprint(stdout, line)
	if err := os.WriteFile(filepath.Join(c.Root, "bench-seed-otlp.out"), []byte(line), 0o644); err != nil {
		return err
	}

	fmt.Fprintln(stdout, "== spans delivered per CPU-second of the generating process")
	fmt.Fprintf(stdout, "seed_gen %.0f; telemetrygen best %.0f (--rate %d); seed_gen / telemetrygen = %.1fx\n",
		seedPerCPU, best, bestRate, seedPerCPU/best)
	return nil
}

// seedGoBench runs BenchmarkSeedFast into bench-seed.out and prints its
// Benchmark lines.
func seedGoBench(ctx context.Context, root string, stdout io.Writer) error {
	out, err := os.Create(filepath.Join(root, "bench-seed.out"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkSeedFast", "-benchtime", "3x",
		"-count", "3", "./receiver/seedgenreceiver/")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		fmt.Fprintln(out, sc.Text())
		if strings.HasPrefix(sc.Text(), "Benchmark") {
			fmt.Fprintln(stdout, sc.Text())
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("go test -bench BenchmarkSeedFast: %w (see bench-seed.out)", err)
	}
	return nil
}

// waitExit waits for p to exit by itself (ctx done: kills it).
func waitExit(ctx context.Context, p *proc.Process) error {
	select {
	case <-p.Done():
		return nil
	case <-ctx.Done():
		p.Kill()
		return ctx.Err()
	}
}

// cpuSeconds is the CPU time (user + system) an exited process used, from
// wait4: its own, not its children's.
func cpuSeconds(p *proc.Process) float64 {
	st := p.State()
	if st == nil {
		return math.NaN()
	}
	return (st.UserTime() + st.SystemTime()).Seconds()
}

// keepLogs copies the logs of work into a directory of the temporary
// directory and removes work.
func keepLogs(work, into string) {
	keep := filepath.Join(os.TempDir(), into)
	if logs, _ := filepath.Glob(filepath.Join(work, "*.log")); len(logs) > 0 && os.MkdirAll(keep, 0o755) == nil {
		for _, l := range logs {
			_ = copyFile(l, filepath.Join(keep, filepath.Base(l)))
		}
	}
	_ = os.RemoveAll(work)
}
