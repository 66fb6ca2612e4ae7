package metadatacheck

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// failures records what Check reports instead of failing the test.
type failures struct {
	testing.TB
	got []string
}

func (f *failures) Helper()                        {}
func (f *failures) Errorf(format string, a ...any) { f.got = append(f.got, fmt.Sprintf(format, a...)) }

// record makes the instruments of testdata/metadata.yaml, changed by mod.
func record(t *testing.T, mod func(name, desc, unit string) (string, string, string)) *componenttest.Telemetry {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	m := tel.NewTelemetrySettings().MeterProvider.Meter("sample")
	ctx := context.Background()
	name, desc, unit := mod("otelcol_sample_items", "Items. [Alpha]", "{item}")
	items, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
	require.NoError(t, err)
	items.Add(ctx, 2, metric.WithAttributes(attribute.String("signal", "traces")))
	name, desc, unit = mod("otelcol_sample_lateness", "Lateness. [Development]", "s")
	late, err := m.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit(unit),
		metric.WithExplicitBucketBoundaries(0.5, 1, 2))
	require.NoError(t, err)
	late.Record(ctx, 0.1)
	name, desc, unit = mod("otelcol_sample_level", "Level. [Development]", "1")
	level, err := m.Float64Gauge(name, metric.WithDescription(desc), metric.WithUnit(unit))
	require.NoError(t, err)
	level.Record(ctx, 3)
	return tel
}

func same(name, desc, unit string) (string, string, string) { return name, desc, unit }

func TestCheckPassesWhenAllAgree(t *testing.T) {
	f := &failures{TB: t}
	Check(f, "testdata/metadata.yaml", record(t, same), "sample")
	assert.Empty(t, f.got)
}

func TestCheckFindsEveryDisagreement(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(name, desc, unit string) (string, string, string)
		want string
	}{
		{"description without stability", func(n, d, u string) (string, string, string) {
			if n == "otelcol_sample_items" {
				d = "Items."
			}
			return n, d, u
		}, "otelcol_sample_items: testdata/metadata.yaml and the instrument disagree"},
		{"unit", func(n, d, u string) (string, string, string) {
			if n == "otelcol_sample_level" {
				u = "%"
			}
			return n, d, u
		}, "otelcol_sample_level: testdata/metadata.yaml and the instrument disagree"},
		{"renamed both ways", func(n, d, u string) (string, string, string) {
			if n == "otelcol_sample_lateness" {
				n = "otelcol_sample_delay"
			}
			return n, d, u
		}, "otelcol_sample_lateness is in testdata/metadata.yaml but was never recorded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &failures{TB: t}
			Check(f, "testdata/metadata.yaml", record(t, tc.mod), "sample")
			require.NotEmpty(t, f.got)
			found := false
			for _, g := range f.got {
				found = found || strings.Contains(g, tc.want)
			}
			assert.True(t, found, "%q among %q", tc.want, f.got)
		})
	}
	f := &failures{TB: t}
	tel := record(t, same)
	extra, err := tel.NewTelemetrySettings().MeterProvider.Meter("sample").Int64Counter("otelcol_sample_extra")
	require.NoError(t, err)
	extra.Add(context.Background(), 1)
	Check(f, "testdata/metadata.yaml", tel, "sample")
	require.Len(t, f.got, 1)
	assert.Contains(t, f.got[0], "otelcol_sample_extra is recorded but not listed in testdata/metadata.yaml")
}
