package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPyRandom: the generator gives what Python's random.Random(21) gives
// (getrandbits(32) three times; random() twice; choices(range(15), k=15)).
func TestPyRandom(t *testing.T) {
	r := newPyRandom(21)
	assert.Equal(t, []uint32{708452615, 1795269057, 2962526392}, []uint32{r.uint32(), r.uint32(), r.uint32()})
	r = newPyRandom(21)
	assert.Equal(t, []float64{0.16494947983319797, 0.6897669242175674}, []float64{r.random(), r.random()})
	items := make([]int, 15)
	for i := range items {
		items[i] = i
	}
	assert.Equal(t, []int{2, 10, 9, 7, 3, 11, 12, 7, 7, 3, 0, 5, 8, 1, 11}, choices(newPyRandom(21), items))
}

// TestPeersReport: for the inputs of testdata/peers, the report and the
// target spread are what the Python report printed for them.
func TestPeersReport(t *testing.T) {
	for _, name := range []string{"full", "lossy"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "peers", name)
			runs := readRuns(t, filepath.Join(dir, "bench-peers.out"))
			got := PeersReport(runs, readFacts(t, filepath.Join(dir, "facts.env")), readUnserved(t, filepath.Join(dir, "unserved.txt")))
			assert.Equal(t, readFile(t, filepath.Join(dir, "report.md")), got+"\n")
			assert.Equal(t, readFile(t, filepath.Join(dir, "spread.txt")), fmt.Sprintf("%.3f\n", TargetSpread(runs)))
		})
	}
}

// TestSplice: the section goes in place of the old one, else before the
// "## Replay throughput" heading, else at the end.
func TestSplice(t *testing.T) {
	report := readFile(t, filepath.Join("testdata", "peers", "lossy", "report.md"))
	section, err := Section(report)
	require.NoError(t, err)
	for _, c := range []string{"markers", "anchor", "neither"} {
		t.Run(c, func(t *testing.T) {
			dir := filepath.Join("testdata", "peers", "splice")
			got := Splice(readFile(t, filepath.Join(dir, c+".md")), section)
			assert.Equal(t, readFile(t, filepath.Join(dir, c+".want.md")), got)
			again, err := Section(got)
			require.NoError(t, err)
			assert.Equal(t, section, again)
		})
	}
	_, err = Section("# Benchmarks\n")
	assert.ErrorContains(t, err, "no section")
}

func TestParseRunsErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "no header line"},
		{"round\tvariant\n", "has no column cpu_s"},
		{Header() + "\n1\tpeer/debug\tx\n", `line 2: cpu_s "x" is not a number`},
		{Header() + "\n1\tpeer/debug\t0.5\n", "line 2: no items (only 3 fields)"},
		{Header() + "\n1\tpeer/debug\t0.5\t1.5\t1\t0\t1\t0\t0\t0\t1\t1\t-\n", `line 2: items "1.5" is not a whole number`},
	} {
		_, err := ParseRuns(strings.NewReader(c.in))
		assert.ErrorContains(t, err, c.want, "input %q", c.in)
	}
	run := Run{Round: 3, Variant: "ours/fs", CPU: 1.234, Items: 10, Accepted: 10, PeakRSSKiB: 5, Bytes: 7, Files: 1,
		S3ServerCPU: 0.01, Wall: 25.5, MachineBusy: 0.3, Status: "completed×1"}
	runs, err := ParseRuns(strings.NewReader(Header() + "\n" + run.String() + "\n"))
	require.NoError(t, err)
	run.CPU = 1.23 // written with two decimals
	assert.Equal(t, []Run{run}, runs)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

func readRuns(t *testing.T, path string) []Run {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	runs, err := ParseRuns(f)
	require.NoError(t, err)
	return runs
}

// readFacts reads the BP_* variables the Python report took.
func readFacts(t *testing.T, path string) Facts {
	t.Helper()
	env := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, path)), "\n") {
		k, v, ok := strings.Cut(l, "=")
		require.True(t, ok, "%s: %q", path, l)
		env[k] = v
	}
	atoi := func(k string) int {
		n, err := strconv.Atoi(env[k])
		require.NoError(t, err, k)
		return n
	}
	return Facts{
		Date: env["BP_DATE"], Commit: env["BP_COMMIT"], Dirty: env["BP_DIRTY"] != "0", CPU: env["BP_CPU"],
		Cores: atoi("BP_CORES"), Kernel: env["BP_KERNEL"], Go: env["BP_GO"], Rounds: atoi("BP_ROUNDS"),
		RoundsAsked: env["BP_ROUNDS_ASKED"], Duration: env["BP_DURATION"], BatchSize: env["BP_BATCH"],
		Traces: env["BP_TRACES"], Metrics: env["BP_METRICS"], Logs: env["BP_LOGS"],
		Rates:       [3]string(strings.Fields(env["BP_RATES"])),
		VersionFile: env["BP_V_FILE"], VersionS3: env["BP_V_S3"], VersionCore: env["BP_V_CORE"],
		VersionStable: env["BP_V_STABLE"], VersionOurCore: env["BP_V_OURS_CORE"], VersionTG: env["BP_V_TG"],
		VersionVGW: env["BP_V_VGW"], OutName: "bench-peers.out",
	}
}

func readUnserved(t *testing.T, path string) []Unserved {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []Unserved
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		require.Len(t, p, 3, "%s: %q", path, sc.Text())
		out = append(out, Unserved{Module: p[0], List: p[1], Download: p[2]})
	}
	require.NoError(t, sc.Err())
	return out
}
