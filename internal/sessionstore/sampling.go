package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

import (
	"fmt"
	"slices"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/recordreplay/otelcol-recordreplay/internal/pdatawalk"
)

// SamplingShare says what share of the traces a sampler kept for the
// spans of a session that carry its decision: a consistent probability
// sampler (the probabilistic_sampler processor in proportional or
// equalizing mode, an SDK's) writes its rejection threshold into each kept
// span's tracestate (ot=th:…); Probability is the chance that threshold
// gave a trace to be kept, Spans the spans of the session kept with it.
type SamplingShare struct {
	Threshold   string  `json:"threshold"`
	Probability float64 `json:"probability"`
	Spans       int64   `json:"spans"`
}

// maxSamplingShares bounds the distinct thresholds a session lists (hostile
// tracestates must not grow metadata without end); spans with a threshold
// beyond them count under otherThresholds, probability 0 (unknown).
const maxSamplingShares = 16

// otherThresholds names the spans of thresholds beyond maxSamplingShares.
const otherThresholds = "other"

// TracesSampling counts the spans of td by the sampling threshold their
// tracestate carries; spans without a valid one are not counted.
func TracesSampling(td ptrace.Traces) map[string]int64 {
	var out map[string]int64
	for _, sp := range pdatawalk.Spans(td) {
		raw := sp.TraceState().AsRaw()
		if !strings.Contains(raw, "th:") {
			continue // most spans: nothing to parse
		}
		th, ok := threshold(raw)
		if !ok {
			continue
		}
		if out == nil {
			out = map[string]int64{}
		}
		out[th]++
	}
	return out
}

// threshold reads the sampling threshold of a W3C tracestate.
func threshold(raw string) (string, bool) {
	ts, err := sampling.NewW3CTraceState(raw)
	if err != nil {
		return "", false
	}
	th, ok := ts.OTelValue().TValueThreshold()
	if !ok {
		return "", false
	}
	return th.TValue(), true
}

// probabilityOf is the sampling probability a threshold stands for (0 when
// it is not one).
func probabilityOf(th string) float64 {
	t, err := sampling.TValueToThreshold(th)
	if err != nil {
		return 0
	}
	return t.Probability()
}

// AddSampling counts spans kept at sampling threshold th.
func (m *Metadata) AddSampling(th string, spans int64) {
	if spans <= 0 {
		return
	}
	i := slices.IndexFunc(m.Sampling, func(s SamplingShare) bool { return s.Threshold == th })
	if i < 0 && len(m.Sampling) >= maxSamplingShares {
		th = otherThresholds
		i = slices.IndexFunc(m.Sampling, func(s SamplingShare) bool { return s.Threshold == th })
	}
	if i < 0 {
		m.Sampling = append(m.Sampling, SamplingShare{Threshold: th, Probability: probabilityOf(th)})
		slices.SortFunc(m.Sampling, func(a, b SamplingShare) int { return strings.Compare(a.Threshold, b.Threshold) })
		i = slices.IndexFunc(m.Sampling, func(s SamplingShare) bool { return s.Threshold == th })
	}
	m.Sampling[i].Spans += spans
}

// subtractSampling takes part's sampled spans out of m's.
func (m *Metadata) subtractSampling(part *Metadata) {
	for _, p := range part.Sampling {
		if i := slices.IndexFunc(m.Sampling, func(s SamplingShare) bool { return s.Threshold == p.Threshold }); i >= 0 {
			m.Sampling[i].Spans = max(0, m.Sampling[i].Spans-p.Spans)
		}
	}
	m.Sampling = slices.DeleteFunc(m.Sampling, func(s SamplingShare) bool { return s.Spans == 0 })
}

// checkSampling names what is wrong in the sampling shares of a metadata
// file.
func (m *Metadata) checkSampling(count func(string, int64)) []error {
	var errs []error
	for i, s := range m.Sampling {
		count(fmt.Sprintf("sampling[%d].spans", i), s.Spans)
		if !(s.Probability >= 0 && s.Probability <= 1) {
			errs = append(errs, fmt.Errorf("sampling[%d].probability is %v, not a probability", i, s.Probability))
		}
	}
	return errs
}
