// Command sessionctl lists, shows, verifies, repairs, prints, sizes,
// compares, extracts from, exports and deletes stored sessions, on a directory or an S3 bucket,
// without a collector; with --control it drives a running collector's
// session_control API instead (captures and replays).
//
//	sessionctl [store flags] list [--json] [--type T] [--status S] [--label k=v]... [--since T]
//	sessionctl [store flags] show ID
//	sessionctl [store flags] phases ID
//	sessionctl [store flags] verify [--repair [--force]] ID...
//	sessionctl [store flags] cat ID [--signal traces|metrics|logs] [--json]
//	sessionctl [store flags] du ID... [--decode] [--json]
//	sessionctl [store flags] diff A B [--shifted] [--max-differences N] [--signal S]
//	sessionctl [store flags] extract --from T --to T [--session ID]... [--id NEW] [--label k=v]...
//	sessionctl [store flags] export ID --format jsonl|parquet [--out FILE]
//	sessionctl [store flags] rm --yes ID...
//	sessionctl [store flags] prune --older-than 720h [--dry-run]
//
//	sessionctl --control URL [--token T] sessions [--type T] [--status S]
//	sessionctl --control URL show ID | phases ID
//	sessionctl --control URL capture list | status [C] | new [C] [--id ID] … | pause [C] | resume [C]
//	sessionctl --control URL replay list | status [C] [--watch] | start [C] [overrides] [--wait] | stop [C]
//
// verify --repair rebuilds metadata.json from the objects; it refuses a
// session a writer is still writing (its view open and updated in the last
// sessionstore.LiveWindow), whose items would then count twice, unless
// --force. phases prints a seed session's phase table (seed.phases of its
// metadata.json). cat prints a session's items in capture order, readably
// or as OTLP/JSON lines (one export request per object, for jq). du sums
// stored and raw bytes and items per signal and per hour. diff compares
// two sessions, the last step of a validation workflow (seed → capture →
// replay → capture again → diff); --shifted accepts the consistent id
// remapping and the per-object time shifts of a replay (see
// internal/sessiondiff). All three read objects through a decompressed
// size cap (--max-object-bytes) and never hold a whole session's telemetry
// in memory. extract cuts a window of capture times out of sessions into
// a new completed session: the objects captured in it, whole, copied by the
// store (CopyObject on S3, hard links on a directory) under keys of the
// same capture time and uuid, each read first to count it (a bad one is
// reported, not copied); its metadata.json is written last. export
// flattens a session into rows for training: a row per span, data point
// and log record with its ground truth, as JSON lines or parquet, streamed
// object by object into bounded row groups.
//
// With --control URL (http://127.0.0.1:4320; the token from --token,
// $SESSIONCTL_CONTROL_TOKEN or $CONTROL_TOKEN, sent as a bearer token)
// the commands are requests of the API (see
// extension/sessioncontrolextension): C is a component id, by default the
// only registered capture or replay; replay start sends only the overrides
// given; replay status --watch follows a replay's progress until it is
// over (exit 0 finished, 1 stopped, 130 on Ctrl-C, which leaves the replay
// running). Errors of the API print "error: <code>: <detail>" and exit 1.
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
