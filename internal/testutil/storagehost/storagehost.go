// Package storagehost gives tests a component.Host that offers contrib's
// file_storage extension, the storage users run for persistent queues and
// replay checkpoints.
package storagehost // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/storagehost"

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
)

// host is a host that offers extensions.
type host struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.ext }

// FileStorage starts file_storage on dir and returns a host offering it
// and its id. The extension stops when the test ends; a second call on the
// same dir (after the first stopped) sees what the first stored, as a
// restarted collector does.
func FileStorage(t testing.TB, dir string) (component.Host, component.ID) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Compaction.Directory = dir
	cfg.CreateDirectory = true
	id := component.MustNewID("file_storage")
	set := extensiontest.NewNopSettings(f.Type())
	set.ID = id
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return host{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{id: ext}}, id
}
