package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/versitygw"
)

// serveS3 runs versitygw in the foreground: it starts it, creates the
// bucket, says so on stdout, and kills it at SIGTERM or SIGINT (at once: the
// testbed stops it for an outage); it fails when versitygw exits by itself.
func serveS3(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devtools s3", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: devtools s3 -addr 127.0.0.1:PORT -dir DIR [-bucket NAME] [-log FILE] [flags]
Runs versitygw (VERSITYGW, else bin/versitygw, else $PATH) serving DIR with its posix
backend until SIGTERM or SIGINT, then kills it (the directory stays). Once it accepts
connections and has the bucket, prints "s3: serving ENDPOINT ...". The root keys are
ROOT_ACCESS_KEY and ROOT_SECRET_KEY of the environment unless given.`)
		fs.PrintDefaults()
	}
	c := versitygw.Config{}
	fs.StringVar(&c.Addr, "addr", "", "loopback `host:port` to serve on")
	fs.StringVar(&c.Dir, "dir", "", "the posix backend's `directory` (created if missing)")
	fs.StringVar(&c.AccessKey, "access-key", os.Getenv("ROOT_ACCESS_KEY"), "the root access `key`")
	fs.StringVar(&c.SecretKey, "secret-key", os.Getenv("ROOT_SECRET_KEY"), "the root secret `key`")
	fs.BoolVar(&c.Quiet, "quiet", false, "no access log")
	bucket := fs.String("bucket", "", "a bucket to create unless the directory has it")
	log := fs.String("log", "", "append versitygw's output to `file` (default: discard it)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the server and the bucket")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "devtools s3: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	var err error
	if c.Bin, err = versitygw.Binary(); err != nil {
		return fmt.Errorf("versitygw not found (run make tools, or set VERSITYGW): %w", err)
	}
	if c.Dir != "" {
		if err := os.MkdirAll(c.Dir, 0o755); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	srv, err := versitygw.Start(wctx, c, *log)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if *bucket != "" && !c.HasBucket(*bucket) {
		if err := c.CreateBucket(wctx, *bucket); err != nil {
			return err
		}
	}
	fmt.Printf("s3: serving %s (bucket %q, directory %s) until SIGTERM or SIGINT\n", c.Endpoint(), *bucket, c.Dir)
	select {
	case <-ctx.Done():
		return nil
	case <-srv.Process().Done():
		err := fmt.Errorf("versitygw exited (%v)", srv.Process().Err())
		if *log != "" {
			err = fmt.Errorf("%w; see %s", err, *log)
		}
		return err
	}
}
