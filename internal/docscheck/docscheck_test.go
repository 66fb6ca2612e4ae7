// Package docscheck checks that the documents of the repository say what
// the code does: every test RELIABILITY.md names exists.
package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReliabilityRowsNameRealTests: each test named in RELIABILITY.md's
// tables (`pkg/path: TestA`, `TestB`) is a test or fuzz function of that
// package, so `make test` runs it.
func TestReliabilityRowsNameRealTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "RELIABILITY.md"))
	require.NoError(t, err)
	cell := regexp.MustCompile("`([a-z0-9/]+): ((?:Test|Fuzz)\\w+)`((?:, `(?:Test|Fuzz)\\w+`)*)")
	name := regexp.MustCompile("`((?:Test|Fuzz)\\w+)`")
	checked := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range cell.FindAllStringSubmatch(line, -1) {
			pkg := m[1]
			names := []string{m[2]}
			for _, n := range name.FindAllStringSubmatch(m[3], -1) {
				names = append(names, n[1])
			}
			src := testSources(t, filepath.Join(root, pkg))
			for _, n := range names {
				require.Regexpf(t, `func `+n+`\(`, src, "RELIABILITY.md names %s in %s, which has no such test", n, pkg)
				checked++
			}
		}
	}
	require.Greater(t, checked, 30, "the tables were read")
}

func testSources(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no tests in %s", dir)
	var sb strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		sb.Write(data)
	}
	return sb.String()
}
