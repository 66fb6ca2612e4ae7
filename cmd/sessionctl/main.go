// Command sessionctl lists, shows, verifies, repairs and deletes stored
// sessions, on a directory or an S3 bucket, without a collector.
//
//	sessionctl [store flags] list
//	sessionctl [store flags] show ID
//	sessionctl [store flags] verify [--repair] ID...
//	sessionctl [store flags] rm --yes ID...
//	sessionctl [store flags] prune --older-than 720h [--dry-run]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
