// Package metadatacheck holds a component's own telemetry to its
// metadata.yaml: internal/metadata is hand-written in mdatagen's shape, so
// nothing generates it from the file, and this check is what keeps the two
// in step.
package metadatacheck // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/metadatacheck"

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Metric is one entry of telemetry.metrics in metadata.yaml, as mdatagen
// turns it into an instrument.
type Metric struct {
	// Name is the instrument name: otelcol_ and the key.
	Name string
	// Description carries mdatagen's stability suffix, e.g. " [Alpha]".
	Description string
	Unit        string
	// Type is "sum", "gauge" or "histogram"; ValueType "int" or "double".
	Type, ValueType string
	Monotonic       bool
	// Boundaries are a histogram's explicit bucket boundaries, if any.
	Boundaries []float64
	// Attributes are the attribute keys every data point carries.
	Attributes []string
}

// Load reads the telemetry metrics of the metadata.yaml at path, checking
// that each has a stability level and that every attribute it uses is
// defined under attributes:.
func Load(t testing.TB, path string) map[string]Metric {
	t.Helper()
	cm, err := confmaptest.LoadConf(path)
	require.NoError(t, err)
	raw := cm.ToStringMap()
	defined, _ := raw["attributes"].(map[string]any)
	telemetry, _ := raw["telemetry"].(map[string]any)
	metrics, _ := telemetry["metrics"].(map[string]any)
	out := map[string]Metric{}
	for key, v := range metrics {
		m, _ := v.(map[string]any)
		stability, _ := m["stability"].(string)
		require.NotEmpty(t, stability, "%s: telemetry.metrics.%s has no stability", path, key)
		desc, _ := m["description"].(string)
		unit, _ := m["unit"].(string)
		got := Metric{
			Name:        "otelcol_" + key,
			Description: desc + " [" + strings.ToUpper(stability[:1]) + stability[1:] + "]",
			Unit:        unit,
		}
		for _, typ := range []string{"sum", "gauge", "histogram"} {
			data, ok := m[typ].(map[string]any)
			if !ok {
				continue
			}
			require.Empty(t, got.Type, "%s: %s has two data types", path, key)
			got.Type = typ
			got.ValueType, _ = data["value_type"].(string)
			got.Monotonic, _ = data["monotonic"].(bool)
			bounds, _ := data["bucket_boundaries"].([]any)
			for _, b := range bounds {
				got.Boundaries = append(got.Boundaries, toFloat(t, b))
			}
		}
		require.NotEmpty(t, got.Type, "%s: %s has no sum, gauge or histogram", path, key)
		attrs, _ := m["attributes"].([]any)
		for _, a := range attrs {
			name := fmt.Sprint(a)
			require.Contains(t, defined, name, "%s: %s uses attribute %q that attributes: does not define", path, key, name)
			got.Attributes = append(got.Attributes, name)
		}
		slices.Sort(got.Attributes)
		out[got.Name] = got
	}
	return out
}

func toFloat(t testing.TB, v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case uint64:
		return float64(n)
	case float64:
		return n
	}
	t.Fatalf("bucket boundary %v is not a number", v)
	return 0
}

// Recorded returns what tel collected under instrumentation scope scope,
// as metadata.yaml would describe it.
func Recorded(t testing.TB, tel *componenttest.Telemetry, scope string) map[string]Metric {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.Reader.Collect(context.Background(), &rm))
	out := map[string]Metric{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != scope {
			continue
		}
		for _, m := range sm.Metrics {
			got := Metric{Name: m.Name, Description: m.Description, Unit: m.Unit}
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				got.Type, got.ValueType, got.Monotonic = "sum", "int", d.IsMonotonic
				sets = attrSets(d.DataPoints, func(p metricdata.DataPoint[int64]) attribute.Set { return p.Attributes })
			case metricdata.Sum[float64]:
				got.Type, got.ValueType, got.Monotonic = "sum", "double", d.IsMonotonic
				sets = attrSets(d.DataPoints, func(p metricdata.DataPoint[float64]) attribute.Set { return p.Attributes })
			case metricdata.Gauge[int64]:
				got.Type, got.ValueType = "gauge", "int"
				sets = attrSets(d.DataPoints, func(p metricdata.DataPoint[int64]) attribute.Set { return p.Attributes })
			case metricdata.Gauge[float64]:
				got.Type, got.ValueType = "gauge", "double"
				sets = attrSets(d.DataPoints, func(p metricdata.DataPoint[float64]) attribute.Set { return p.Attributes })
			case metricdata.Histogram[int64]:
				got.Type, got.ValueType = "histogram", "int"
				sets = attrSets(d.DataPoints, func(p metricdata.HistogramDataPoint[int64]) attribute.Set { return p.Attributes })
				if len(d.DataPoints) > 0 {
					got.Boundaries = d.DataPoints[0].Bounds
				}
			case metricdata.Histogram[float64]:
				got.Type, got.ValueType = "histogram", "double"
				sets = attrSets(d.DataPoints, func(p metricdata.HistogramDataPoint[float64]) attribute.Set { return p.Attributes })
				if len(d.DataPoints) > 0 {
					got.Boundaries = d.DataPoints[0].Bounds
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
			got.Attributes = attrKeys(t, m.Name, sets)
			out[m.Name] = got
		}
	}
	return out
}

func attrSets[P any](points []P, attrs func(P) attribute.Set) []attribute.Set {
	var out []attribute.Set
	for _, p := range points {
		out = append(out, attrs(p))
	}
	return out
}

// attrKeys returns the attribute keys of the points, which must all have
// the same keys.
func attrKeys(t testing.TB, name string, sets []attribute.Set) []string {
	t.Helper()
	var keys []string
	for i, s := range sets {
		var k []string
		for _, kv := range s.ToSlice() {
			k = append(k, string(kv.Key))
		}
		slices.Sort(k)
		if i == 0 {
			keys = k
			continue
		}
		assert.Equal(t, keys, k, "%s: every data point carries the same attributes", name)
	}
	return keys
}

// Check fails t unless the metrics a component recorded into tel under
// scope and the telemetry.metrics of the metadata.yaml at path are the same,
// both ways: every listed metric was recorded, nothing else was, and each
// has the listed name, description (with the stability suffix), unit, data
// type, monotonicity, bucket boundaries and attributes. The caller drives
// the component so that every instrument records.
func Check(t testing.TB, path string, tel *componenttest.Telemetry, scope string) {
	t.Helper()
	want := Load(t, path)
	got := Recorded(t, tel, scope)
	for _, name := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[name]
		if !assert.True(t, ok, "%s is in %s but was never recorded: drive the component so that it records, or drop it from the file", name, path) {
			continue
		}
		w := want[name]
		if w.Type == "histogram" && w.Boundaries == nil {
			w.Boundaries = g.Boundaries // none listed: the SDK's default
		}
		assert.Equal(t, w, g, "%s: %s and the instrument disagree", name, path)
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		assert.Contains(t, want, name, "%s is recorded but not listed in %s", name, path)
	}
}
