// Command devtools is the repository's development tooling, built into
// bin/devtools by the Makefile:
//
//	devtools up        make dev-up: the local S3 dev stack (package devstack)
//	devtools down      make dev-down
//	devtools s3 ...    an S3 server (versitygw) in the foreground until SIGTERM
//	                   or SIGINT, with a bucket: the testbed's (devtools s3 -h)
//	devtools bench-peers
//	                   make bench-peers: the peer comparison and its BENCHMARKS.md
//	                   section (package bench, bench.PeersConfig for its settings)
//	devtools bench-seed
//	                   make bench-seed: seed_gen next to telemetrygen, spans per
//	                   CPU-second of the generator (bench.SeedConfig: settings)
//	devtools bench-peers-splice FROM TO
//	                   copies the bench-peers section of file FROM into file TO
//	                   (to apply a generated section to another version of it)
//
// Its settings come from the environment, as the make targets' do.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/recordreplay/otelcol-recordreplay/internal/bench"
	"github.com/recordreplay/otelcol-recordreplay/internal/devstack"
)

const usage = "usage: devtools up|down|s3|bench-peers|bench-seed|bench-peers-splice FROM TO (make dev-up, make dev-down, make bench-peers, make bench-seed; devtools s3 -h)"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "up", "down", "bench-peers", "bench-seed":
		err = inRepo(ctx, cmd)
	case "s3":
		err = serveS3(ctx, args)
	case "bench-peers-splice":
		if len(args) != 2 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		err = splice(args[0], args[1])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch {
	case err == nil:
	case errors.Is(err, devstack.ErrInterrupted), errors.Is(err, context.Canceled) && ctx.Err() != nil:
		os.Exit(130) // SIGINT or SIGTERM: what was started has been stopped
	case errors.Is(err, devstack.ErrFailed), errors.Is(err, errUsage):
		os.Exit(1) // reported already
	default:
		fmt.Fprintf(os.Stderr, "devtools %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// errUsage is a bad command line, reported by the flag package.
var errUsage = errors.New("usage")

// inRepo runs a command of the repository (make dev-up, dev-down,
// bench-peers, bench-seed) with its settings from the environment.
func inRepo(ctx context.Context, cmd string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	switch cmd {
	case "bench-peers":
		c, err := bench.PeersConfigFromEnv(root, os.Getenv)
		if err != nil {
			return err
		}
		return bench.RunPeers(ctx, c, os.Stdout, os.Stderr)
	case "bench-seed":
		c, err := bench.SeedConfigFromEnv(root, os.Getenv)
		if err != nil {
			return err
		}
		return bench.RunSeed(ctx, c, os.Stdout, os.Stderr)
	}
	st, err := devstack.New(root, os.Getenv, os.Stdout, os.Stderr)
	if err != nil {
		return err
	}
	if cmd == "up" {
		return st.Up(ctx)
	}
	return st.Down()
}

// splice copies the bench-peers section of file from into file to.
func splice(from, to string) error {
	src, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	section, err := bench.Section(string(src))
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	doc, err := os.ReadFile(to)
	if err != nil {
		return err
	}
	return os.WriteFile(to, []byte(bench.Splice(string(doc), section)), 0o644)
}

// module is the repository's module.
const module = "github.com/recordreplay/otelcol-recordreplay"

// repoRoot is the repository: the nearest directory at or above the
// working directory whose go.mod is the module's.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module "+module+"\n") {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("run it in the repository: no go.mod of %s at or above %s", module, wd)
		}
	}
}
