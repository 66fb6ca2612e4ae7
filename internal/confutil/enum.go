package confutil // import "github.com/recordreplay/otelcol-recordreplay/internal/confutil"

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Values is the set of values an Enum takes, named by a type of its own
// (an empty struct) so that each setting is a type of its own.
type Values interface {
	// Values lists the accepted values, in the order an error lists them.
	Values() []string
}

// Enum is a string setting that takes one of V's values: it refuses any
// other while the configuration loads (and where the control API parses an
// override), listing the ones it takes. A setting declares
//
//	type clocks struct{}
//	func (clocks) Values() []string { return []string{string(ClockRealtime), string(ClockFast)} }
//	type Clock = confutil.Enum[clocks]
//	const ClockRealtime Clock = "realtime"
//
// and compares, switches on and converts its values as any string type.
// The zero value "" is what a configuration built in code without the
// setting holds; the component's default says what that means.
type Enum[V Values] string

// UnmarshalText accepts exactly one of V's values.
func (e *Enum[V]) UnmarshalText(text []byte) error {
	var v V
	values := v.Values()
	if !slices.Contains(values, string(text)) {
		return fmt.Errorf("unknown value %q: want %s", text, OneOf(values))
	}
	*e = Enum[V](text)
	return nil
}

// OneOf lists values for an error: `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
func OneOf(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
