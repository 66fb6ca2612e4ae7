//go:build !linux

package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import "os"

// syncData makes a new file's data durable (fsync where there is no
// fdatasync).
func syncData(f *os.File) error { return f.Sync() }
