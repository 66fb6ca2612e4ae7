package bench // import "github.com/recordreplay/otelcol-recordreplay/internal/bench"

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The markers of the bench-peers section of BENCHMARKS.md, and the heading
// the section goes before when a document has no markers yet.
const (
	peersStart  = "<!-- bench-peers:start -->"
	peersEnd    = "<!-- bench-peers:end -->"
	peersAnchor = "## Replay throughput"
)

// The collectors of a bench-peers round, in their order.
var peerVariants = []string{"peer/debug", "peer/file", "peer/s3", "ours/debug", "ours/fs", "ours/s3"}

// peerBase is the baseline run of the same binary in the same round.
var peerBase = map[string]string{"peer/file": "peer/debug", "peer/s3": "peer/debug", "ours/fs": "ours/debug", "ours/s3": "ours/debug"}

var peerNames = map[string]string{
	"peer/debug": "otelcol-peer, `debug` (baseline)",
	"peer/file":  "otelcol-peer, `file` (proto + zstd)",
	"peer/s3":    "otelcol-peer, `awss3` (otlp_proto + gzip, versitygw)",
	"ours/debug": "otelcol-recordreplay, `debug` (baseline)",
	"ours/fs":    "otelcol-recordreplay, `session_capture` filesystem",
	"ours/s3":    "otelcol-recordreplay, `session_capture` S3 (versitygw)",
}

// peerTargets are the pairs the targets are about (session_capture on each
// store against fileexporter) with their goal for the marginal CPU ratio.
var peerTargets = []struct {
	v, peer string
	cpuGoal float64
}{{"ours/fs", "peer/file", 0.8}, {"ours/s3", "peer/file", 1.0}}

// Run is one collector's measurements in one round: a line of bench-peers.out.
type Run struct {
	Round       int
	Variant     string
	CPU         float64 // CPU-seconds of the collector process
	Items       int64   // items exported
	Accepted    int64   // items the receiver accepted
	Failed      int64   // items that failed or were refused
	PeakRSSKiB  int64
	Bytes       int64 // stored
	Files       int64 // stored
	S3ServerCPU float64
	Wall        float64 // seconds
	MachineBusy float64 // cores busy on average
	Status      string  // sessions stored by session_capture, by status (status×count,...)
}

// runColumns is the header of bench-peers.out, in the order of Run's fields.
var runColumns = []string{"round", "variant", "cpu_s", "items", "accepted", "failed", "peak_rss_kib", "bytes", "files",
	"s3_server_cpu_s", "wall_s", "machine_busy_cores", "session_status"}

// Header is the first line of bench-peers.out.
func Header() string { return strings.Join(runColumns, "\t") }

// String is the run as a line of bench-peers.out (without its newline).
func (r Run) String() string {
	return fmt.Sprintf("%d\t%s\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%s", r.Round, r.Variant, r.CPU, r.Items,
		r.Accepted, r.Failed, r.PeakRSSKiB, r.Bytes, r.Files, r.S3ServerCPU, r.Wall, r.MachineBusy, r.Status)
}

// ParseRuns reads bench-peers.out: a header line naming the columns, then a
// run a line, tab-separated.
func ParseRuns(r io.Reader) ([]Run, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no header line (want %q)", Header())
	}
	col := map[string]int{}
	for i, name := range strings.Split(sc.Text(), "\t") {
		col[name] = i
	}
	for _, name := range runColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("header %q has no column %s", sc.Text(), name)
		}
	}
	var runs []Run
	for line := 2; sc.Scan(); line++ {
		if sc.Text() == "" {
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		p := fieldParser{fields: f, col: col, line: line}
		run := Run{
			Round: int(p.int("round")), Variant: p.str("variant"), CPU: p.float("cpu_s"),
			Items: p.int("items"), Accepted: p.int("accepted"), Failed: p.int("failed"),
			PeakRSSKiB: p.int("peak_rss_kib"), Bytes: p.int("bytes"), Files: p.int("files"),
			S3ServerCPU: p.float("s3_server_cpu_s"), Wall: p.float("wall_s"), MachineBusy: p.float("machine_busy_cores"),
			Status: p.str("session_status"),
		}
		if p.err != nil {
			return nil, p.err
		}
		runs = append(runs, run)
	}
	return runs, sc.Err()
}

// fieldParser reads the fields of one line, keeping the first error.
type fieldParser struct {
	fields []string
	col    map[string]int
	line   int
	err    error
}

func (p *fieldParser) str(name string) string {
	if i := p.col[name]; i < len(p.fields) {
		return p.fields[i]
	}
	if p.err == nil {
		p.err = fmt.Errorf("line %d: no %s (only %d fields)", p.line, name, len(p.fields))
	}
	return ""
}

func (p *fieldParser) int(name string) int64 {
	s := p.str(name)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("line %d: %s %q is not a whole number", p.line, name, s)
	}
	return v
}

func (p *fieldParser) float(name string) float64 {
	s := p.str(name)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("line %d: %s %q is not a number", p.line, name, s)
	}
	return v
}

// Facts are what the report says about the run besides its measurements.
type Facts struct {
	Date, Commit   string // the day the run started (UTC), the short commit
	Dirty          bool   // the distribution's sources had uncommitted changes
	CPU            string // the CPU model
	Cores          int
	Kernel, Go     string // uname -r, go env GOVERSION
	Rounds         int    // rounds run
	RoundsAsked    string // "MIN_ROUNDS=5 MAX_ROUNDS=15 SPREAD=0.10"
	Duration       string // seconds of load per collector
	BatchSize      string
	Traces         string // the telemetrygen arguments of each signal
	Metrics        string
	Logs           string
	Rates          [3]string // TRACES_RATE, METRICS_RATE, LOGS_RATE
	VersionFile    string    // contrib fileexporter in bin/otelcol-peer
	VersionS3      string    // contrib awss3exporter in bin/otelcol-peer
	VersionCore    string    // core otlpreceiver in bin/otelcol-peer
	VersionStable  string    // pdata in bin/otelcol-peer
	VersionOurCore string    // core otlpreceiver in bin/otelcol-recordreplay
	VersionTG      string    // telemetrygen
	VersionVGW     string    // versitygw
	OutName        string    // the raw measurements' file name (bench-peers.out)
}

// Unserved is what the module proxy answered for a contrib module that would
// be a peer too: the last line of `go list -m -versions` and the error of
// `go mod download` of v0.165.1 ("served" when there was none).
type Unserved struct {
	Module, List, Download string
}

// peerRuns indexes the runs by round and variant (a later line wins).
type peerRuns struct {
	byKey  map[runKey]Run
	rounds []int
}

type runKey struct {
	round   int
	variant string
}

func indexRuns(runs []Run) *peerRuns {
	p := &peerRuns{byKey: map[runKey]Run{}}
	for _, r := range runs {
		if !slices.Contains(p.rounds, r.Round) {
			p.rounds = append(p.rounds, r.Round)
		}
		p.byKey[runKey{r.Round, r.Variant}] = r
	}
	slices.Sort(p.rounds)
	return p
}

func (p *peerRuns) get(rd int, v string) (Run, bool) {
	r, ok := p.byKey[runKey{rd, v}]
	return r, ok
}

var nan = math.NaN()

func isNaN(x float64) bool { return x != x }

// cpuPerM is CPU-seconds per million items.
func cpuPerM(r Run) float64 {
	if r.Items == 0 {
		return nan
	}
	return r.CPU / float64(r.Items) * 1e6
}

// field is f of the run of v in round rd, NaN where there is none.
func (p *peerRuns) field(rd int, v string, f func(Run) float64) float64 {
	r, ok := p.get(rd, v)
	if !ok {
		return nan
	}
	return f(r)
}

func (p *peerRuns) marginal(rd int, v string) float64 {
	return p.field(rd, v, cpuPerM) - p.field(rd, peerBase[v], cpuPerM)
}

// bytesPerItem is bytes stored per item delivered.
func bytesPerItem(r Run) float64 {
	if r.Items == 0 {
		return nan
	}
	return float64(r.Bytes) / float64(r.Items)
}

func peakRSS(r Run) float64 { return float64(r.PeakRSSKiB) }

// pooled is v's marginal CPU over rounds rds as a ratio to the peer's: the
// sum of v's marginal CPU-s per M items over the sum of the peer's. Each
// round's ratio divides by one noisy difference of two runs; pooled, the
// rounds' noise averages out before the division.
func (p *peerRuns) pooled(v, peer string, rds []int) float64 {
	var a, b float64
	for _, rd := range rds {
		a += p.marginal(rd, v)
		b += p.marginal(rd, peer)
	}
	if b > 0 {
		return a / b
	}
	return nan
}

// both are the rounds with runs of v and of peer.
func (p *peerRuns) both(v, peer string) []int {
	var rds []int
	for _, rd := range p.rounds {
		_, ok1 := p.get(rd, v)
		_, ok2 := p.get(rd, peer)
		if ok1 && ok2 {
			rds = append(rds, rd)
		}
	}
	return rds
}

func (p *peerRuns) rssRatios(v, peer string, rds []int) []float64 {
	out := make([]float64, len(rds))
	for i, rd := range rds {
		out[i] = ratio(p.field(rd, v, peakRSS), p.field(rd, peer, peakRSS))
	}
	return out
}

// median is statistics.median of the numbers of xs (NaN: none).
func median(xs []float64) float64 {
	var s []float64
	for _, x := range xs {
		if !isNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return nan
	}
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is how far the median of vals may be off, as a fraction of it.
func spread(vals []float64) float64 {
	var xs []float64
	for _, x := range vals {
		if !isNaN(x) {
			xs = append(xs, x)
		}
	}
	if len(xs) < 2 {
		return nan
	}
	return bootstrap(xs, median)
}

// bootstrap is how far stat(items) may be off, as a fraction of it: the
// larger distance from it to the ends of the middle 90 % of stat over 2000
// resamples of items (drawn with replacement; a fixed seed, so one file
// always gives one answer).
func bootstrap[T any](items []T, stat func([]T) float64) float64 {
	est := stat(items)
	if est == 0 || isNaN(est) {
		return nan
	}
	rng := newPyRandom(21)
	boot := make([]float64, 2000)
	for i := range boot {
		boot[i] = stat(choices(rng, items))
	}
	slices.Sort(boot)
	n := float64(len(boot))
	lo, hi := boot[int(0.05*n)], boot[int(0.95*n)-1]
	return pyMax(est-lo, hi-est) / math.Abs(est)
}

// pyMax is Python's max(a, b), NaN included: b only if b > a.
func pyMax(a, b float64) float64 {
	if b > a {
		return b
	}
	return a
}

func ratio(a, b float64) float64 {
	if b > 0 && !isNaN(a) {
		return a / b
	}
	return nan
}

// num formats x with d decimals, "n/a" for NaN.
func num(x float64, d int) string {
	switch {
	case isNaN(x):
		return "n/a"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	return strconv.FormatFloat(x, 'f', d, 64)
}

func pct(x float64) string {
	if isNaN(x) {
		return "n/a"
	}
	return "±" + num(100*x, 0) + " %"
}

// thousands is x rounded to a whole number with commas between thousands.
func thousands(x float64) string {
	s := num(x, 0)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// series is f of every round: the values, and "**median** (v1 v2 …)".
func (p *peerRuns) series(f func(rd int) float64, d int) ([]float64, string) {
	vals := make([]float64, len(p.rounds))
	parts := make([]string, len(p.rounds))
	for i, rd := range p.rounds {
		vals[i] = f(rd)
		parts[i] = num(vals[i], d)
	}
	return vals, fmt.Sprintf("**%s** (%s)", num(median(vals), d), strings.Join(parts, " "))
}

// TargetSpread is the largest spread of the target figures (session_capture
// on each store against fileexporter: pooled marginal CPU, median peak RSS)
// over the rounds so far, 9.999 where there are too few rounds to tell.
func TargetSpread(runs []Run) float64 {
	p := indexRuns(runs)
	worst := 0.0
	for _, t := range peerTargets {
		rds := p.both(t.v, t.peer)
		cpu := nan
		if len(rds) > 1 {
			cpu = bootstrap(rds, func(rs []int) float64 { return p.pooled(t.v, t.peer, rs) })
		}
		for _, x := range []float64{cpu, spread(p.rssRatios(t.v, t.peer, rds))} {
			if isNaN(x) || math.IsInf(x, 1) {
				x = 9.999
			}
			worst = pyMax(worst, x)
		}
	}
	return worst
}

// proxyAddr is an address in the module proxy's answers: the report names no
// registry's address.
var proxyAddr = regexp.MustCompile(`https?://[^\s:]+`)

// PeersReport is the BENCHMARKS.md section of a bench-peers run, from
// peersStart to peersEnd.
func PeersReport(runs []Run, f Facts, unserved []Unserved) string {
	p := indexRuns(runs)
	var out []string
	w := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	dirty := ""
	if f.Dirty {
		dirty = " (with uncommitted changes to the distribution's sources)"
	}
	w("%s", peersStart)
	w("## Peer comparison: `session_capture` vs contrib's `fileexporter` and `awss3exporter`, whole collector")
	w("")
	w("Generated by `make bench-peers` (= `bin/devtools bench-peers`, which rewrites everything between")
	w("this section's markers) on %s at commit `%s`%s, on %s, %d cores, Linux %s, %s. Absolute",
		f.Date, f.Commit, dirty, f.CPU, f.Cores, f.Kernel, f.Go)
	w("figures drift with whatever else runs on the machine; compare the ratios within a round.")
	w("")
	w("```sh")
	w("make bench-peers   # = scripts/build-peer.sh (bin/otelcol-peer), then bin/devtools bench-peers")
	w("                   #   %s (%d rounds this run) DURATION=%s BATCH_SIZE=%s TRACES_RATE=%s METRICS_RATE=%s LOGS_RATE=%s",
		f.RoundsAsked, f.Rounds, f.Duration, f.BatchSize, f.Rates[0], f.Rates[1], f.Rates[2])
	w("```")
	w("")
	w("- **Versions**: ours = `bin/otelcol-recordreplay` (`make build`, collector core %s); the peer = `bin/otelcol-peer`, "+
		"built by the same ocb from `testbed/peer-builder-config.yaml`: core `otlp` receiver, `batch` processor and `debug` "+
		"exporter %s (stable modules %s), contrib `fileexporter` %s (its test-only dependency `otlpencodingextension` v0.165.1 "+
		"is refused by the module proxy; a `replaces:` to v0.161.0 lets the build resolve) and `awss3exporter` %s (the latest "+
		"the module proxy serves). Load: telemetrygen %s; S3 server: versitygw %s (posix backend, 127.0.0.1).",
		f.VersionOurCore, f.VersionCore, f.VersionStable, f.VersionFile, f.VersionS3, f.VersionTG, f.VersionVGW)
	w("- **Load**, the same for every collector: three telemetrygen processes at once for %s s, OTLP/gRPC on loopback, "+
		"`%s` (%s spans/s), `%s` (%s data points/s), `%s` (%s log records/s); telemetrygen sends %s items per request "+
		"(the OpenTelemetry SDKs' export batch).",
		f.Duration, f.Traces, f.Rates[0], f.Metrics, f.Rates[1], f.Logs, f.Rates[2], f.BatchSize)
	w("- **Collectors**: every pipeline is `otlp` → `batch` (defaults) → one exporter, in all three signals; exporters at " +
		"their defaults except `file` with `format: proto, compression: zstd`, `awss3` with `marshaler: otlp_proto, " +
		"compression: gzip` and `session_capture`'s store. Per round the six collectors run one after another (the order " +
		"reversed every other round).")
	w("- **Measured** per collector: CPU-seconds of the whole collector process (utime + stime from `/proc/PID/stat`) from " +
		"just before the load starts until every accepted item has been exported; items delivered (the exporter's " +
		"`otelcol_exporter_sent_*`, checked against the receiver's accepted counts); peak RSS (`VmHWM`, read before " +
		"shutdown); bytes of every file stored (after shutdown; for S3 the objects under the run's prefix in the server's " +
		"directory). **Marginal CPU** = CPU-seconds per million items minus that of the same binary's `debug` run in the " +
		"same round: what the exporter costs on top of receiving and batching.")
	w("")
	busy := make([]float64, 0, len(runs))
	for _, r := range p.byKey {
		busy = append(busy, r.MachineBusy)
	}
	lo, hi := nan, nan
	if len(busy) > 0 {
		lo, hi = slices.Min(busy), slices.Max(busy)
	}
	w("While the collectors ran, the machine's %d cores were busy %s to %s cores on average (median %s; the collector, "+
		"telemetrygen and anything else running; from `/proc/stat`). The raw figures of every run are in `%s`.",
		f.Cores, num(lo, 2), num(hi, 2), num(median(busy), 2), f.OutName)
	w("")

	w("### Per collector (median of the rounds, then each round)")
	w("")
	w("| collector | items delivered per run | CPU-s per M items | marginal CPU-s per M items | peak RSS (MiB) | bytes stored per item |")
	w("| --- | ---: | --- | --- | --- | --- |")
	for _, v := range peerVariants {
		if !slices.ContainsFunc(p.rounds, func(rd int) bool { _, ok := p.get(rd, v); return ok }) {
			continue
		}
		items := make([]float64, len(p.rounds))
		for i, rd := range p.rounds {
			items[i] = p.field(rd, v, func(r Run) float64 { return float64(r.Items) })
		}
		_, cpu := p.series(func(rd int) float64 { return p.field(rd, v, cpuPerM) }, 2)
		mcpu, b := "–", "–"
		if _, ok := peerBase[v]; ok {
			_, mcpu = p.series(func(rd int) float64 { return p.marginal(rd, v) }, 2)
			_, b = p.series(func(rd int) float64 { return p.field(rd, v, bytesPerItem) }, 2)
		}
		_, rss := p.series(func(rd int) float64 { return p.field(rd, v, peakRSS) / 1024 }, 1)
		w("| %s | %s | %s | %s | %s | %s |", peerNames[v], thousands(median(items)), cpu, mcpu, rss, b)
	}
	w("")
	var s3cpu []float64
	for _, rd := range p.rounds {
		if r, ok := p.get(rd, "ours/s3"); ok {
			s3cpu = append(s3cpu, ratio(r.S3ServerCPU, float64(r.Items))*1e6)
		}
	}
	if len(s3cpu) > 0 {
		each := make([]string, len(s3cpu))
		for i, x := range s3cpu {
			each[i] = num(x, 2)
		}
		w("The S3 server (versitygw, a separate process) used another **%s** CPU-s per M items (%s) while "+
			"`session_capture` wrote to it; it is not in the collector's figures above.", num(median(s3cpu), 2), strings.Join(each, " "))
		w("")
	}

	w("### Ratios to the peers (the target figure with its spread, then the median and each round)")
	w("")
	w("**Marginal CPU**, pooled: the exporter's marginal CPU-s per M items summed over the rounds, over the peer's, summed " +
		"the same way (each round's own ratio divides by one noisy difference of two runs; pooled, the noise averages out " +
		"before the division). **Peak RSS**: the median of the rounds' ratios. The spread says how far a figure may be off: " +
		"the larger distance from it to the ends of the middle 90 %% of the same figure over 2000 bootstrap resamples of the rounds.")
	w("")
	w("| exporter | against | marginal CPU per item, pooled | spread | median of the rounds (each round) | peak RSS | spread | bytes stored per item |")
	w("| --- | --- | --- | --- | --- | --- | --- | --- |")
	type verdict struct{ cpu, cpuSpread, rss, rssSpread float64 }
	verdicts := map[[2]string]verdict{}
	for _, pair := range [][2]string{{"ours/fs", "peer/file"}, {"ours/s3", "peer/file"}, {"ours/s3", "peer/s3"}} {
		v, peer := pair[0], pair[1]
		rds := p.both(v, peer)
		if len(rds) != len(p.rounds) {
			continue
		}
		cp := p.pooled(v, peer, rds)
		cspr := nan
		if len(rds) > 1 {
			cspr = bootstrap(rds, func(rs []int) float64 { return p.pooled(v, peer, rs) })
		}
		c, cs := p.series(func(rd int) float64 { return ratio(p.marginal(rd, v), p.marginal(rd, peer)) }, 2)
		m, ms := p.series(func(rd int) float64 { return ratio(p.field(rd, v, peakRSS), p.field(rd, peer, peakRSS)) }, 2)
		_, bs := p.series(func(rd int) float64 { return ratio(p.field(rd, v, bytesPerItem), p.field(rd, peer, bytesPerItem)) }, 2)
		verdicts[pair] = verdict{cp, cspr, median(m), spread(m)}
		w("| %s | %s | **%s** | %s | %s, spread %s | %s | %s | %s |", shortName(v), shortName(peer), num(cp, 2), pct(cspr),
			cs, pct(spread(c)), ms, pct(spread(m)), bs)
	}
	c, cs := p.series(func(rd int) float64 {
		return ratio(p.field(rd, "ours/debug", cpuPerM), p.field(rd, "peer/debug", cpuPerM))
	}, 2)
	_, ms := p.series(func(rd int) float64 {
		return ratio(p.field(rd, "ours/debug", peakRSS), p.field(rd, "peer/debug", peakRSS))
	}, 2)
	w("")
	w("The two baselines (whole collector with `debug`, ours / the peer's): CPU-s per M items %s (spread %s), peak RSS %s.",
		cs, pct(spread(c)), ms)
	w("")
	var statuses []string
	for _, rd := range p.rounds {
		for _, v := range []string{"ours/fs", "ours/s3"} {
			if r, ok := p.get(rd, v); ok && !slices.Contains(statuses, r.Status) {
				statuses = append(statuses, r.Status)
			}
		}
	}
	slices.Sort(statuses)
	for i, s := range statuses {
		statuses[i] = strings.ReplaceAll(s, "×", " × ")
	}
	w("Sessions stored by `session_capture` after shutdown: %s (per run).", strings.Join(statuses, ", "))
	if lost := p.lost(); len(lost) > 0 {
		w("Runs where delivered ≠ accepted, or items failed: %s.", strings.Join(lost, "; "))
	} else {
		w("Every run delivered exactly the items its receiver accepted; none failed or were refused.")
	}
	w("")

	var lines []string
	for _, t := range peerTargets {
		vd, ok := verdicts[[2]string{t.v, t.peer}]
		if !ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s against %s: marginal CPU %s× (%s; goal ≤ %s) — **%s**; peak RSS %s× (%s; goal ≤ 1.0) — "+
			"**%s**; spreads under ±10 %%: **%s**.", shortName(t.v), shortName(t.peer), num(vd.cpu, 2), pct(vd.cpuSpread),
			strconv.FormatFloat(t.cpuGoal, 'f', 1, 64), metIf(vd.cpu <= t.cpuGoal), num(vd.rss, 2), pct(vd.rssSpread),
			metIf(vd.rss <= 1.0), yesIf(pyMax(vd.cpuSpread, vd.rssSpread) < 0.10)))
	}
	if len(lines) > 0 {
		w("**Targets** (issue 21): pooled marginal CPU, median peak RSS:")
		w("")
		for _, l := range lines {
			w("- %s", l)
		}
		w("")
	}

	w("### Contrib peers the module proxy does not serve")
	w("")
	w("Contrib's `awss3receiver` (the peer of `session_replay` reading S3), `otlpjsonfilereceiver` and `filereceiver` (of " +
		"`session_replay` reading files) have no rows here because the Go module proxy serves none of them at any recent " +
		"version, so no distribution can be built with them on this machine (`awss3exporter` is served at v0.165.0, not " +
		"v0.165.1: the peer has that). Asked by this run (`go list -m -versions MODULE` and `go mod download -json " +
		"MODULE@v0.165.1`, through the environment's `GOPROXY`, the Go module proxy):")
	w("")
	for _, u := range unserved {
		w("- `%s`: list → `%s`; v0.165.1 → `%s`", u.Module, proxyAddr.ReplaceAllString(u.List, "(the Go module proxy)"),
			proxyAddr.ReplaceAllString(u.Download, "(the Go module proxy)"))
	}
	w("%s", peersEnd)
	return strings.Join(out, "\n")
}

// lost describes the runs that delivered other than what they accepted, or
// had items fail, by round and variant.
func (p *peerRuns) lost() []string {
	keys := make([]runKey, 0, len(p.byKey))
	for k := range p.byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b runKey) int {
		if a.round != b.round {
			return a.round - b.round
		}
		return strings.Compare(a.variant, b.variant)
	})
	var lost []string
	for _, k := range keys {
		if r := p.byKey[k]; r.Items != r.Accepted || r.Failed != 0 {
			lost = append(lost, fmt.Sprintf("%s round %d: accepted %d, delivered %d, failed/refused %d",
				k.variant, k.round, r.Accepted, r.Items, r.Failed))
		}
	}
	return lost
}

// shortName is the exporter part of a variant's name.
func shortName(v string) string {
	_, s, _ := strings.Cut(peerNames[v], ", ")
	return s
}

func metIf(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

func yesIf(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// Splice puts section (which includes both markers) into doc in place of the
// old section; without markers before the "## Replay throughput" heading, and
// without that at the end.
func Splice(doc, section string) string {
	a, b := strings.Index(doc, peersStart), strings.Index(doc, peersEnd)
	switch {
	case a >= 0 && b >= 0:
		return doc[:a] + section + doc[b+len(peersEnd):]
	case strings.Contains(doc, peersAnchor):
		i := strings.Index(doc, peersAnchor)
		return doc[:i] + section + "\n\n" + doc[i:]
	}
	return strings.TrimRight(doc, "\n") + "\n\n" + section + "\n"
}

// Section is the bench-peers section of doc, markers included.
func Section(doc string) (string, error) {
	a, b := strings.Index(doc, peersStart), strings.Index(doc, peersEnd)
	if a < 0 || b < a {
		return "", fmt.Errorf("no section between %s and %s", peersStart, peersEnd)
	}
	return doc[a : b+len(peersEnd)], nil
}
