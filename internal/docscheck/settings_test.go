package docscheck

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/recordreplay/otelcol-recordreplay/exporter/sessioncaptureexporter"
	"github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"
	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
	"github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"
	"github.com/recordreplay/otelcol-recordreplay/receiver/sessionreplayreceiver"
)

// TestEverySettingDocumented: every setting of our components' configs
// (each key of our own blocks, down to the leaves; a block of the
// collector's own, such as retry_on_failure or tls, by its key) is in the
// component's README: in its settings table (`key` or `block.key`) or its
// annotated YAML (`key:` at the start of a line). Adding a setting without
// documenting it fails here. The store block is documented once, in
// session_capture's README; the others name it and point there.
func TestEverySettingDocumented(t *testing.T) {
	for dir, factory := range map[string]component.Factory{
		"exporter/sessioncaptureexporter":   sessioncaptureexporter.NewFactory(),
		"receiver/sessionreplayreceiver":    sessionreplayreceiver.NewFactory(),
		"receiver/seedgenreceiver":          seedgenreceiver.NewFactory(),
		"extension/sessioncontrolextension": sessioncontrolextension.NewFactory(),
	} {
		t.Run(dir, func(t *testing.T) {
			readme, err := os.ReadFile(filepath.Join("..", "..", dir, "README.md"))
			require.NoError(t, err)
			var shared map[reflect.Type]bool
			if dir != "exporter/sessioncaptureexporter" {
				shared = map[reflect.Type]bool{reflect.TypeFor[sessionstore.Config](): true}
			}
			keys := settingKeys(reflect.TypeOf(factory.CreateDefaultConfig()), "", shared)
			require.NotEmpty(t, keys)
			for _, key := range keys {
				assert.True(t, documented(string(readme), key), "%s/README.md does not document the setting %s", dir, key)
			}
		})
	}
}

// settingKeys lists the keys of a config type, dotted from the top; a
// squashed block's keys are its parent's; a shared block's keys are not
// listed, only its own.
func settingKeys(t reflect.Type, prefix string, shared map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if strings.Contains(opts, "squash") {
			if ours(ft) {
				keys = append(keys, settingKeys(ft, prefix, shared)...)
			} else {
				keys = append(keys, collectorKeys(ft, prefix)...)
			}
			continue
		}
		key := prefix + name
		keys = append(keys, key)
		if ft.Kind() == reflect.Struct && ours(ft) && !shared[ft] {
			keys = append(keys, settingKeys(ft, key+".", shared)...)
		}
	}
	return keys
}

// collectorKeys lists the top-level keys of a squashed block of the
// collector's (confighttp.ServerConfig: endpoint, tls, auth, ...), which
// the README documents by pointing at the collector's documentation for
// all but the ones it names; only endpoint is required to be there.
func collectorKeys(t reflect.Type, prefix string) []string {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "endpoint" {
			return []string{prefix + name}
		}
		if f.Anonymous || strings.Contains(f.Tag.Get("mapstructure"), "squash") {
			if ks := collectorKeys(f.Type, prefix); len(ks) > 0 {
				return ks
			}
		}
	}
	return nil
}

func ours(t reflect.Type) bool {
	return strings.HasPrefix(t.PkgPath(), "github.com/recordreplay/")
}

func documented(readme, key string) bool {
	leaf := key[strings.LastIndex(key, ".")+1:]
	if strings.Contains(readme, "`"+key+"`") || strings.Contains(readme, "`"+key+":") {
		return true
	}
	if regexp.MustCompile(`(?m)^\s*(- )?` + regexp.QuoteMeta(leaf) + `:`).MatchString(readme) {
		return true
	}
	// a nested key in its block's table row: `leaf` in a row that names the block
	parent := strings.TrimSuffix(key, "."+leaf)
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, "|") && strings.Contains(line, "`"+leaf) && strings.Contains(line, parent) {
			return true
		}
	}
	return false
}
