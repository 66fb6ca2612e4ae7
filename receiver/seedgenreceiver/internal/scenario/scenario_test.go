package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuiltinsParse(t *testing.T) {
	names := Builtins()
	assert.Subset(t, names, []string{"basic-topology", "payment-failure", "latency-spike", "db-outage", "traffic-ramp"})
	for _, n := range names {
		sc, err := Builtin(n)
		require.NoError(t, err, n)
		assert.Equal(t, n, sc.Name)
		assert.Len(t, sc.Services, 10, n)
		assert.Positive(t, sc.Length(), n)
	}
	pf, err := Builtin("payment-failure")
	require.NoError(t, err)
	require.Len(t, pf.Phases, 3)
	assert.Equal(t, []string{"startup", "failure", "rampdown"}, []string{pf.Phases[0].Name, pf.Phases[1].Name, pf.Phases[2].Name})
	assert.Equal(t, 0.75, pf.Phases[1].Flags["paymentFailure"])
	assert.Equal(t, 30*time.Second, pf.Length())
	_, err = Builtin("nope")
	require.ErrorContains(t, err, `unknown pattern "nope": built-in patterns are basic-topology, db-outage`)
}

const valid = `name: tiny
services:
  web: {version: "1"}
  db-owner: {version: "1"}
operations:
  - id: web.index
    service: web
    kind: http_server
    http: {method: GET, route: /}
    latency: {median: 1ms, p99: 5ms}
    calls:
      - {to: web.query}
  - id: web.query
    service: web
    kind: db_client
    db: {system: postgresql, operation: SELECT}
    latency: {median: 1ms, p99: 2ms}
entries:
  - {operation: web.index, weight: 1}
faults:
  dbDown: {operation: web.query, kind: error, message: down}
phases:
  - {name: only, duration: 5s, flags: {dbDown: 0.5}}
`

func TestParseErrorsNameLineAndField(t *testing.T) {
	_, err := Parse([]byte(valid), "tiny.yaml")
	require.NoError(t, err)

	tests := []struct {
		name, from, to, want string
	}{
		{"unknown field", "    latency: {median: 1ms, p99: 5ms}\n    calls:", "    latency: {median: 1ms, p99: 5ms}\n    colls:", "tiny.yaml: line 11: field colls not found"},
		{"bad duration", "median: 1ms, p99: 2ms", "median: 1 ms, p99: 2ms", `line 17: invalid duration "1 ms"`},
		{"unknown call", "{to: web.query}", "{to: web.qurey}", `line 12: operations[0].calls[0].to: unknown operation "web.qurey"`},
		{"unknown service", "service: web\n    kind: db_client", "service: webb\n    kind: db_client", `line 14: operations[1].service: unknown service "webb"`},
		{"unknown kind", "kind: db_client", "kind: database", `line 15: operations[1].kind: unknown kind "database"`},
		{"flag out of range", "dbDown: 0.5", "dbDown: 1.5", "line 23: phases[0].flags.dbDown: a flag is a probability between 0 and 1"},
		{"unknown flag", "flags: {dbDown: 0.5}", "flags: {dbdown: 0.5}", `line 23: phases[0].flags.dbdown: unknown flag "dbdown"`},
		{"no phases", "phases:\n  - {name: only, duration: 5s, flags: {dbDown: 0.5}}\n", "phases: []\n", "phases: at least one phase is needed"},
		{"p99 below median", "{median: 1ms, p99: 5ms}", "{median: 9ms, p99: 5ms}", "line 10: operations[0].latency: latency.p99 must be at least the median"},
		{"entry not a server", "{operation: web.index, weight: 1}", "{operation: web.query, weight: 1}", "line 19: entries[0].operation: an entry must be an http_server or grpc_server"},
		{"db called across services", "service: web\n    kind: db_client", "service: db-owner\n    kind: db_client", "line 12: operations[0].calls[0].to: web.query is a db_client operation of db-owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(valid, tt.from, tt.to, 1)
			require.NotEqual(t, valid, src, "the edit applies")
			_, err := Parse([]byte(src), "tiny.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	loop := strings.Replace(valid, "    db: {system: postgresql, operation: SELECT}\n", "    db: {system: postgresql, operation: SELECT}\n    calls: [{to: web.query}]\n", 1)
	_, err = Parse([]byte(loop), "loop.yaml")
	require.ErrorContains(t, err, "line 17: operations[1].calls: calls loop: web.index -> web.query -> web.query")
}

func TestExtends(t *testing.T) {
	src := `extends: basic-topology
name: my-scenario
operations:
  - id: payment.charge
    service: payment
    kind: grpc_server
    grpc: {service: oteldemo.PaymentService, method: Charge}
    latency: {median: 90ms, p99: 300ms}
phases:
  - {name: slow, duration: 4s, flags: {paymentFailure: 0.1}}
`
	sc, err := Parse([]byte(src), "mine.yaml")
	require.NoError(t, err)
	assert.Equal(t, Duration(90*time.Millisecond), sc.Op("payment.charge").Latency.Median, "overridden")
	assert.NotNil(t, sc.Op("checkout.place_order"), "inherited")
	assert.Equal(t, 4*time.Second, sc.Length())

	_, err = Parse([]byte("extends: nothing\nname: x\n"), "x.yaml")
	require.ErrorContains(t, err, `x.yaml: line 1: extends: unknown pattern "nothing"`)
}
