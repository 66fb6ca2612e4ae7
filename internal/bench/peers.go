package bench // import "github.com/recordreplay/otelcol-recordreplay/internal/bench"

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/proc"
	"github.com/recordreplay/otelcol-recordreplay/internal/versitygw"
)

// PeersConfig are the settings of make bench-peers (environment variables).
//
//	ROUNDS        exactly this many rounds; else MIN_ROUNDS (5), then more until the
//	              largest spread of the target figures is under SPREAD (0.10), at most
//	              MAX_ROUNDS (15)
//	DURATION      seconds of load per collector (25)
//	TRACES_RATE   spans/s (10000)      METRICS_RATE  data points/s (5000)
//	LOGS_RATE     log records/s (5000) WORKER_RATE   per telemetrygen worker (1250)
//	BATCH_SIZE    items per OTLP request (512)
//	BENCH_MD      the document whose section is regenerated (BENCHMARKS.md)
//	UPDATE_MD     0: print the section only (1)
//	OUT           the raw measurements, tab-separated (bench-peers.out)
type PeersConfig struct {
	Root                 string // the repository: bin/, and what relative paths are relative to
	MinRounds, MaxRounds int
	Spread               float64
	Duration             int
	Rates                [3]int // traces, metrics, logs
	WorkerRate           int
	BatchSize            int
	BenchMD, Out         string
	UpdateMD             bool
	asked                string // the rounds' settings as given, for the report
}

// PeersConfigFromEnv reads the settings, with their defaults, from env.
func PeersConfigFromEnv(root string, env func(string) string) (PeersConfig, error) {
	c := PeersConfig{Root: root}
	get := func(def string, names ...string) (string, string) {
		for _, n := range names {
			if v := env(n); v != "" {
				return v, n
			}
		}
		return def, names[len(names)-1]
	}
	var errs []error
	num := func(def string, names ...string) (string, int) {
		v, name := get(def, names...)
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%s: want a whole number above 0", name, v))
		}
		return v, n
	}
	minS, minR := num("5", "ROUNDS", "MIN_ROUNDS")
	maxS, maxR := num("15", "ROUNDS", "MAX_ROUNDS")
	c.MinRounds, c.MaxRounds = minR, maxR
	spread, _ := get("0.10", "SPREAD")
	if f, err := strconv.ParseFloat(spread, 64); err != nil || f <= 0 {
		errs = append(errs, fmt.Errorf("SPREAD=%s: want a fraction above 0, such as 0.10", spread))
	} else {
		c.Spread = f
	}
	c.asked = fmt.Sprintf("MIN_ROUNDS=%s MAX_ROUNDS=%s SPREAD=%s", minS, maxS, spread)
	_, c.Duration = num("25", "DURATION")
	_, c.Rates[0] = num("10000", "TRACES_RATE")
	_, c.Rates[1] = num("5000", "METRICS_RATE")
	_, c.Rates[2] = num("5000", "LOGS_RATE")
	_, c.WorkerRate = num("1250", "WORKER_RATE")
	_, c.BatchSize = num("512", "BATCH_SIZE")
	c.BenchMD, _ = get("BENCHMARKS.md", "BENCH_MD")
	c.Out, _ = get("bench-peers.out", "OUT")
	update, _ := get("1", "UPDATE_MD")
	c.UpdateMD = update != "0"
	if c.MinRounds > c.MaxRounds && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("MIN_ROUNDS=%d is above MAX_ROUNDS=%d", c.MinRounds, c.MaxRounds))
	}
	return c, errors.Join(errs...)
}

// inRoot is path relative to the repository unless absolute.
func (c PeersConfig) inRoot(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(c.Root, path)
}

// loadArgs are telemetrygen's arguments for one signal: workers enough for
// rate at WorkerRate each.
func (c PeersConfig) loadArgs(signal string, rate int) []string {
	workers := (rate + c.WorkerRate - 1) / c.WorkerRate
	return []string{signal, "--workers", strconv.Itoa(workers),
		"--rate", strconv.FormatFloat(float64(rate)/float64(workers), 'g', 6, 64), "--batch-size", strconv.Itoa(c.BatchSize)}
}

// The bench-peers S3 server's credentials and bucket.
const (
	peersAccessKey = "bench-peers"
	peersSecretKey = "bench-peers-secret"
	peersBucket    = "bench"
)

// peersRun is one make bench-peers.
type peersRun struct {
	PeersConfig
	work           string // a temporary directory
	bin            string // the repository's bin/
	s3             *versitygw.Server
	out            *os.File
	stdout, stderr io.Writer
	tg             [3][]string // telemetrygen's arguments per signal
}

// RunPeers runs the rounds, writes OUT, prints the report and, unless
// UPDATE_MD=0, regenerates its section of BENCH_MD.
func RunPeers(ctx context.Context, c PeersConfig, stdout, stderr io.Writer) (err error) {
	r := &peersRun{PeersConfig: c, bin: filepath.Join(c.Root, "bin"), stdout: stdout, stderr: stderr}
	for _, b := range []string{"otelcol-peer", "otelcol-recordreplay", "telemetrygen", "versitygw"} {
		if _, err := os.Stat(filepath.Join(r.bin, b)); err != nil {
			return fmt.Errorf("%s missing (make build build-peer tools, and bin/telemetrygen)", filepath.Join(r.bin, b))
		}
	}
	for i, s := range []string{"traces", "metrics", "logs"} {
		r.tg[i] = c.loadArgs(s, c.Rates[i])
	}
	if r.work, err = os.MkdirTemp("", "bench-peers-"); err != nil {
		return err
	}
	defer r.cleanup()
	// run copies, so that a make build during the run cannot swap a binary between rounds
	for _, b := range []string{"otelcol-peer", "otelcol-recordreplay"} {
		if err := copyFile(filepath.Join(r.bin, b), filepath.Join(r.work, "bin", b)); err != nil {
			return err
		}
	}
	if err := r.startS3(ctx); err != nil {
		return err
	}
	start := time.Now().UTC()
	if r.out, err = os.Create(c.inRoot(c.Out)); err != nil {
		return err
	}
	defer r.out.Close()
	r.emit(Header())
	runs, err := r.rounds(ctx)
	if err != nil {
		return err
	}
	facts := r.facts(ctx, start, runs)
	report := PeersReport(runs, facts, r.unserved(ctx))
	fmt.Fprintln(stdout, report)
	if !c.UpdateMD {
		return nil
	}
	path := c.inRoot(c.BenchMD)
	doc, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		doc, err = []byte("# Benchmarks\n"), nil
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(Splice(string(doc), report)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench-peers: wrote the section into %s\n", c.BenchMD)
	return nil
}

// emit writes a line of bench-peers.out, and prints it.
func (r *peersRun) emit(line string) {
	fmt.Fprintln(r.stdout, line)
	fmt.Fprintln(r.out, line)
}

// cleanup stops the S3 server, keeps the logs in /tmp/bench-peers-logs and
// removes the work directory.
func (r *peersRun) cleanup() {
	if r.s3 != nil {
		r.s3.Stop()
	}
	keepLogs(r.work, "bench-peers-logs")
}

// startS3 starts the S3 server for the whole run; each S3 collector writes
// under a prefix of its own.
func (r *peersRun) startS3(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c := versitygw.Config{Bin: filepath.Join(r.bin, "versitygw"), Addr: "127.0.0.1:" + strconv.Itoa(port),
		Dir: filepath.Join(r.work, "s3"), AccessKey: peersAccessKey, SecretKey: peersSecretKey}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if r.s3, err = versitygw.Start(wctx, c, filepath.Join(r.work, "versitygw.log")); err != nil {
		return err
	}
	return c.CreateBucket(wctx, peersBucket)
}

// peerOrder is the collectors' order in odd rounds (even rounds reverse it,
// so that drift does not always hit the same one).
var peerOrder = peerVariants

// rounds runs at least MinRounds rounds, then more until the target figures'
// spread is under Spread, at most MaxRounds.
func (r *peersRun) rounds(ctx context.Context) ([]Run, error) {
	var runs []Run
	for round := 1; round <= r.MaxRounds; round++ {
		order := slices.Clone(peerOrder)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, v := range order {
			run, err := r.runOne(ctx, round, v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v, err)
			}
			r.emit(run.String())
			runs = append(runs, run)
		}
		if round >= r.MinRounds {
			worst, _ := strconv.ParseFloat(fmt.Sprintf("%.3f", TargetSpread(runs)), 64)
			fmt.Fprintf(r.stderr, "bench-peers: after round %d the largest spread of the target figures is ±%.0f %%\n", round, 100*worst)
			if worst < r.Spread {
				break
			}
		}
	}
	return runs, nil
}

// exporterConfig is the exporter of a variant, and its name.
func (r *peersRun) exporterConfig(round int, variant, dir string) (string, string) {
	s3 := r.s3.Endpoint()
	switch variant {
	case "peer/s3":
		return "awss3", fmt.Sprintf(`awss3: {marshaler: otlp_proto, s3uploader: {compression: gzip, region: us-east-1, s3_bucket: %s, `+
			`s3_prefix: p%d, endpoint: %q, s3_force_path_style: true}}`, peersBucket, round, s3)
	case "peer/file":
		return "file", fmt.Sprintf(`file: {path: %q, format: proto, compression: zstd, create_directory: true}`,
			filepath.Join(dir, "out", "telemetry.pb.zst"))
	case "ours/fs":
		return "session_capture", fmt.Sprintf(`session_capture: {store: {backend: filesystem, directory: %q}}`, filepath.Join(dir, "out"))
	case "ours/s3":
		return "session_capture", fmt.Sprintf(`session_capture: {store: {backend: s3, s3: {bucket: %s, prefix: r%d, region: us-east-1, `+
			`endpoint: %q, use_path_style: true, access_key_id: %s, secret_access_key: %s}}}`,
			peersBucket, round, s3, peersAccessKey, peersSecretKey)
	}
	return "debug", "debug: {verbosity: basic}"
}

// The collectors' own counters that runOne reads.
var (
	acceptedMetrics = []string{"otelcol_receiver_accepted_spans", "otelcol_receiver_accepted_metric_points",
		"otelcol_receiver_accepted_log_records"}
	sentMetrics   = []string{"otelcol_exporter_sent_spans", "otelcol_exporter_sent_metric_points", "otelcol_exporter_sent_log_records"}
	failedMetrics = []string{"otelcol_exporter_send_failed_spans", "otelcol_exporter_send_failed_metric_points",
		"otelcol_exporter_send_failed_log_records", "otelcol_exporter_enqueue_failed_spans",
		"otelcol_exporter_enqueue_failed_metric_points", "otelcol_exporter_enqueue_failed_log_records",
		"otelcol_receiver_refused_spans", "otelcol_receiver_refused_metric_points", "otelcol_receiver_refused_log_records"}
)

// runOne runs one collector under the load and measures it.
func (r *peersRun) runOne(ctx context.Context, round int, variant string) (Run, error) {
	run := Run{Round: round, Variant: variant, Status: "-"}
	dir := filepath.Join(r.work, fmt.Sprintf("r%d-%s", round, strings.ReplaceAll(variant, "/", "-")))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return run, err
	}
	grpc, err := freePort()
	if err != nil {
		return run, err
	}
	name, exporter := r.exporterConfig(round, variant, dir)
	config := otlpConfig(grpc, name, exporter, "traces", "metrics", "logs")
	bin := filepath.Join(r.work, "bin", "otelcol-recordreplay")
	if strings.HasPrefix(variant, "peer/") {
		bin = filepath.Join(r.work, "bin", "otelcol-peer")
	}
	log := filepath.Join(r.work, fmt.Sprintf("r%d-%s.log", round, strings.ReplaceAll(variant, "/", "-")))
	col, err := startCollector(ctx, bin, dir, config, log,
		[]string{"AWS_ACCESS_KEY_ID=" + peersAccessKey, "AWS_SECRET_ACCESS_KEY=" + peersSecretKey})
	if err != nil {
		return run, fmt.Errorf("did not start: %w", err)
	}
	defer col.Kill()
	if err := sleep(ctx, time.Second); err != nil {
		return run, err
	}
	before, err := r.sample(col)
	if err != nil {
		return run, err
	}
	if err := r.runLoad(ctx, variant, dir, grpc); err != nil {
		return run, err
	}
	// until everything accepted has been exported (or failed), at most 120 s
	var prev int64 = -1
	for i, stable := 0, 0; i < 480 && stable < 2; i++ {
		run.Accepted = col.sum(ctx, acceptedMetrics...)
		run.Items = col.sum(ctx, sentMetrics...)
		run.Failed = col.sum(ctx, failedMetrics...)
		if run.Items+run.Failed >= run.Accepted && run.Items == prev {
			stable++
		} else {
			stable = 0
		}
		prev = run.Items
		if stable < 2 {
			if err := sleep(ctx, 250*time.Millisecond); err != nil {
				return run, err
			}
		}
	}
	after, err := r.sample(col)
	if err != nil {
		return run, err
	}
	if run.PeakRSSKiB, err = peakRSSKiB(col.Pid()); err != nil {
		return run, err
	}
	if _, err := col.Stop(2 * time.Minute); err != nil {
		return run, err
	}
	run.Wall = after.at.Sub(before.at).Seconds()
	run.CPU = float64(after.cpu-before.cpu) / userHZ
	run.S3ServerCPU = float64(after.s3CPU-before.s3CPU) / userHZ
	run.MachineBusy = float64(after.busy-before.busy) / userHZ / run.Wall
	stored := filepath.Join(dir, "out")
	switch variant {
	case "peer/s3":
		stored = filepath.Join(r.s3.Dir, peersBucket, fmt.Sprintf("p%d", round))
	case "ours/s3":
		stored = filepath.Join(r.s3.Dir, peersBucket, fmt.Sprintf("r%d", round))
	}
	if !strings.HasSuffix(variant, "/debug") {
		if run.Bytes, run.Files, run.Status, err = storedFiles(stored, strings.HasPrefix(variant, "ours/")); err != nil {
			return run, err
		}
	}
	return run, os.RemoveAll(filepath.Join(dir, "out"))
}

// sample is the CPU time of the collector, of the S3 server and of the
// whole machine at a moment.
type sample struct {
	at               time.Time
	cpu, s3CPU, busy int64
}

func (r *peersRun) sample(col *collector) (sample, error) {
	s := sample{}
	var err error
	if s.cpu, err = cpuTicks(col.Pid()); err != nil {
		return s, err
	}
	p := r.s3.Process()
	if p == nil {
		return s, errors.New("the S3 server is not running")
	}
	if s.s3CPU, err = cpuTicks(p.Pid()); err != nil {
		return s, err
	}
	if s.busy, err = machineBusyTicks(); err != nil {
		return s, err
	}
	s.at = time.Now()
	return s, nil
}

// runLoad runs the three telemetrygen processes at once against the collector.
func (r *peersRun) runLoad(ctx context.Context, variant, dir string, grpc int) error {
	var gens []*proc.Process
	for _, args := range r.tg {
		p, err := proc.Start(proc.Spec{
			Path: filepath.Join(r.bin, "telemetrygen"),
			Args: append(slices.Clone(args), "--otlp-endpoint", "127.0.0.1:"+strconv.Itoa(grpc), "--otlp-insecure",
				"--duration", strconv.Itoa(r.Duration)+"s"),
			Log: filepath.Join(dir, "telemetrygen-"+args[0]+".log"), DieWithParent: true,
		})
		if err != nil {
			return err
		}
		gens = append(gens, p)
	}
	var failed error
	for _, p := range gens {
		select {
		case <-p.Done():
		case <-ctx.Done():
			for _, g := range gens {
				g.Kill()
			}
			return ctx.Err()
		}
		if err := p.Err(); err != nil {
			failed = err
		}
	}
	if failed != nil {
		fmt.Fprintf(r.stderr, "bench-peers: %s: a telemetrygen exited with %v (see %s)\n", variant, failed, dir)
	}
	return nil
}

// statusField finds the status of a session in its metadata.json.
var statusField = regexp.MustCompile(`"status": *"([a-z]*)"`)

// storedFiles counts the bytes and files under dir and, for our exporter,
// the sessions by the status their metadata.json says (completed×1,...).
func storedFiles(dir string, sessions bool) (bytes, files int64, status string, err error) {
	count := map[string]int{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		bytes += info.Size()
		files++
		if sessions && d.Name() == "metadata.json" && info.Size() < 16<<20 {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range statusField.FindAllStringSubmatch(string(data), -1) {
				count[m[1]]++
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil // nothing stored
	}
	status = "-"
	if sessions {
		parts := make([]string, 0, len(count))
		for _, s := range slices.Sorted(maps.Keys(count)) {
			parts = append(parts, fmt.Sprintf("%s×%d", s, count[s]))
		}
		status = strings.Join(parts, ",")
	}
	return bytes, files, status, err
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// The contrib modules that would be peers too, asked of the module proxy.
var unservedModules = []string{"receiver/awss3receiver", "receiver/otlpjsonfilereceiver", "receiver/filereceiver"}

// unserved asks the environment's module proxy (without its fallback to
// version control: the question is what the proxy serves) about them.
func (r *peersRun) unserved(ctx context.Context) []Unserved {
	proxy := strings.TrimSpace(r.goCmd(ctx, nil, "env", "GOPROXY"))
	proxy = strings.TrimSuffix(strings.TrimSuffix(proxy, ",direct"), "|direct")
	env := []string{"GOPROXY=" + proxy, "GOFLAGS=-mod=mod"}
	var out []Unserved
	for _, m := range unservedModules {
		mod := "github.com/open-telemetry/opentelemetry-collector-contrib/" + m
		lines := strings.Split(strings.TrimRight(r.goCmd(ctx, env, "list", "-m", "-versions", mod), "\n"), "\n")
		u := Unserved{Module: m, List: strings.ReplaceAll(lines[len(lines)-1], "\t", " "), Download: "unparsable answer"}
		var dl struct{ Error string }
		if err := json.Unmarshal([]byte(r.goCmd(ctx, env, "mod", "download", "-json", mod+"@v0.165.1")), &dl); err == nil {
			u.Download, _, _ = strings.Cut(dl.Error, "\n")
			if u.Download == "" {
				u.Download = "served"
			}
		}
		out = append(out, u)
	}
	return out
}

// goCmd runs the go command in the work directory (no module) and returns
// its output (standard error too, except for `go mod download -json`,
// whose answer is the JSON on standard output).
func (r *peersRun) goCmd(ctx context.Context, env []string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = r.work
	cmd.Env = append(os.Environ(), env...)
	if slices.Contains(args, "-json") {
		out, _ := cmd.Output()
		return string(out)
	}
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// facts are what the report says about the run besides its measurements.
func (r *peersRun) facts(ctx context.Context, start time.Time, runs []Run) Facts {
	git := func(args ...string) string {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = r.Root
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out))
	}
	dirty := git("status", "--porcelain", "--untracked-files=no", "--", "*.go", "go.mod", "go.sum",
		"builder-config.yaml", "testbed/peer-builder-config.yaml", ":!*_test.go")
	rounds := 0
	for _, run := range runs {
		rounds = max(rounds, run.Round)
	}
	peer, ours := filepath.Join(r.bin, "otelcol-peer"), filepath.Join(r.bin, "otelcol-recordreplay")
	const contrib = "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/"
	return Facts{
		Date: start.Format("2006-01-02"), Commit: git("rev-parse", "--short", "HEAD"), Dirty: dirty != "",
		CPU: cpuModel(), Cores: runtime.NumCPU(), Kernel: kernelRelease(),
		Go:     strings.TrimSpace(r.goCmd(ctx, nil, "env", "GOVERSION")),
		Rounds: rounds, RoundsAsked: r.asked, Duration: strconv.Itoa(r.Duration), BatchSize: strconv.Itoa(r.BatchSize),
		Traces: strings.Join(r.tg[0], " "), Metrics: strings.Join(r.tg[1], " "), Logs: strings.Join(r.tg[2], " "),
		Rates:          [3]string{strconv.Itoa(r.Rates[0]), strconv.Itoa(r.Rates[1]), strconv.Itoa(r.Rates[2])},
		VersionFile:    depVersion(peer, contrib+"fileexporter"),
		VersionS3:      depVersion(peer, contrib+"awss3exporter"),
		VersionCore:    depVersion(peer, "go.opentelemetry.io/collector/receiver/otlpreceiver"),
		VersionStable:  depVersion(peer, "go.opentelemetry.io/collector/pdata"),
		VersionOurCore: depVersion(ours, "go.opentelemetry.io/collector/receiver/otlpreceiver"),
		VersionTG:      depVersion(filepath.Join(r.bin, "telemetrygen"), ""),
		VersionVGW:     depVersion(filepath.Join(r.bin, "versitygw"), ""),
		OutName:        filepath.Base(r.Out),
	}
}

// depVersion is the version of module path that binary was built with (its
// main module's for ""), as go version -m says it.
func depVersion(binary, path string) string {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return ""
	}
	if path == "" {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return ""
}
