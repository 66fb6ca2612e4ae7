package sessionstore // import "github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"

// Ground-truth attribute names. The seed_gen receiver stamps them on the
// telemetry it synthesizes; the session_capture exporter reads them back into
// a seed session's metadata (SeedInfo and its phase table). Defined once here
// so that the two sides cannot drift apart.
const (
	// AttrSessionID (resource) names the seed session the data belongs to;
	// session_capture routes on it with session.from_attribute.
	AttrSessionID = "test.session.id"
	// AttrPattern (resource) is the scenario's name. Its presence marks a
	// resource as seed_gen output.
	AttrPattern = "test.pattern"
	// AttrSeed (resource, int) is the seed of the run.
	AttrSeed = "test.seed"
	// AttrRate (resource, double) is the configured rate of root traces per
	// second.
	AttrRate = "test.traces_per_second"
	// AttrErrorRate (resource, double) is the baseline probability that a
	// trace fails somewhere.
	AttrErrorRate = "test.error_rate"
	// AttrDuration (resource) is the run's total virtual time, as a Go
	// duration string.
	AttrDuration = "test.duration"
	// AttrDescription (resource) is the run's description.
	AttrDescription = "test.description"
	// AttrLabel (resource) is a prefix: AttrLabel + a label name holds that
	// label's value, one of the session's labels.
	AttrLabel = "test.label."
	// AttrDiagnosticSessionID (resource) links the seed session to an
	// external diagnostic run (metadata.json's diagnosticSessionId); a
	// valid session id.
	AttrDiagnosticSessionID = "test.diagnostic_session_id"
	// AttrPhaseName (resource, span, log record, data point) is the name of
	// the phase the item belongs to.
	AttrPhaseName = "test.phase.name"
	// AttrPhaseIndex (resource, span, log record, data point; int) is the
	// index of the phase the item belongs to.
	AttrPhaseIndex = "test.phase.index"
	// AttrPhaseStart (resource) is the phase's start, RFC 3339 with
	// nanoseconds.
	AttrPhaseStart = "test.phase.start"
	// AttrPhaseEnd (resource) is the phase's end, RFC 3339 with nanoseconds.
	AttrPhaseEnd = "test.phase.end"
	// AttrPhaseFlag (resource, double) is a prefix: AttrPhaseFlag + a flag
	// name holds that flag's value in the phase.
	AttrPhaseFlag = "test.phase.flag."
	// AttrFaultName (span, log record) names the fault that made the span
	// fail where it originates.
	AttrFaultName = "test.fault.name"
	// AttrFaultRoot (span, bool) marks the span where a fault originates.
	AttrFaultRoot = "test.fault.root_cause"
)
