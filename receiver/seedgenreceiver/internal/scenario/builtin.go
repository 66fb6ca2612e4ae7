package scenario // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"

import (
	"embed"
	"fmt"
	"path"
	"strings"
)

//go:embed patterns/*.yaml
var builtins embed.FS

// Builtins lists the built-in pattern names.
func Builtins() []string {
	entries, _ := builtins.ReadDir("patterns")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// Builtin loads a built-in pattern.
func Builtin(name string) (*Scenario, error) {
	data, err := builtins.ReadFile(path.Join("patterns", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("unknown pattern %q: built-in patterns are %s", name, strings.Join(Builtins(), ", "))
	}
	return Parse(data, "pattern "+name)
}
