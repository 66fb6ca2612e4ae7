// Command sessionctl lists, shows, verifies, repairs, prints, sizes,
// compares and deletes stored sessions, on a directory or an S3 bucket,
// without a collector.
//
//	sessionctl [store flags] list
//	sessionctl [store flags] show ID
//	sessionctl [store flags] verify [--repair] ID...
//	sessionctl [store flags] cat ID [--signal traces|metrics|logs] [--json]
//	sessionctl [store flags] du ID... [--decode] [--json]
//	sessionctl [store flags] diff A B [--shifted] [--max-differences N] [--signal S]
//	sessionctl [store flags] rm --yes ID...
//	sessionctl [store flags] prune --older-than 720h [--dry-run]
//
// cat prints a session's items in capture order, readably or as OTLP/JSON
// lines (one export request per object, for jq). du sums stored and raw
// bytes and items per signal and per hour. diff compares two sessions, the
// last step of a validation workflow (seed → capture → replay → capture
// again → diff); --shifted accepts the consistent id remapping and the
// per-object time shifts of a replay (see internal/sessiondiff). All three
// read objects through a decompressed size cap (--max-object-bytes) and
// never hold a whole session's telemetry in memory.
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
