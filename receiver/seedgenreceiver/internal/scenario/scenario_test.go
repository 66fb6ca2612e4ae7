package scenario

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuiltinsParse(t *testing.T) {
	names := Builtins()
	assert.Equal(t, []string{"basic-topology", "complex-topology", "db-outage", "high-load", "latency-spike",
		"payment-failure", "traffic-ramp", "training-phases"}, names)
	for _, n := range names {
		sc, err := Builtin(n)
		require.NoError(t, err, n)
		assert.Equal(t, n, sc.Name)
		assert.NotEmpty(t, sc.Description, n)
		assert.Positive(t, sc.Length(), n)
		// Every service does something.
		used := map[string]bool{}
		for _, op := range sc.Operations {
			used[op.Service] = true
		}
		assert.Len(t, used, len(sc.Services), n)
		if n != "complex-topology" {
			assert.Len(t, sc.Services, 10, "%s: the shop topology", n)
		}
	}
	pf, err := Builtin("payment-failure")
	require.NoError(t, err)
	require.Len(t, pf.Phases, 3)
	assert.Equal(t, []string{"startup", "failure", "rampdown"}, []string{pf.Phases[0].Name, pf.Phases[1].Name, pf.Phases[2].Name})
	assert.Equal(t, 0.75, pf.Phases[1].Flags["paymentFailure"])
	assert.Equal(t, 30*time.Second, pf.Length())
	_, err = Builtin("nope")
	require.ErrorContains(t, err, `unknown pattern "nope": built-in patterns are basic-topology, complex-topology, db-outage`)
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

// TestNewBuiltins pins the phases of high-load, complex-topology and
// training-phases: names, rates and the flags that are on, as their YAML
// says, and what each is for.
func TestNewBuiltins(t *testing.T) {
	type phase struct {
		name  string
		rate  float64
		flags map[string]float64 // the flags above 0
	}
	tests := []struct {
		pattern string
		phases  []phase
	}{
		{"high-load", []phase{
			{"warmup", 1, nil},
			{"ramp-up", 3, map[string]float64{"catalogDbSaturation": 0.1, "cartCacheSaturation": 0.05}},
			{"high-load", 6, map[string]float64{"catalogDbSaturation": 0.35, "cartCacheSaturation": 0.2, "checkoutOverload": 0.01}},
			{"peak", 8, map[string]float64{"catalogDbSaturation": 0.6, "cartCacheSaturation": 0.35, "checkoutOverload": 0.03}},
			{"cool-down", 2, map[string]float64{"catalogDbSaturation": 0.05}},
		}},
		{"complex-topology", []phase{
			{"steady", 1, nil},
			{"feature-store-slow", 1, map[string]float64{"featureStoreLatency": 0.6}},
			{"recovered", 1, nil},
		}},
		{"training-phases", []phase{
			{"baseline", 1, nil},
			{"latency", 1, map[string]float64{"currencyLatency": 0.9}},
			{"latency-recovery", 1, map[string]float64{"currencyLatency": 0.1}},
			{"payment-errors", 1, map[string]float64{"paymentFailure": 0.6}},
			{"payment-recovery", 1, map[string]float64{"paymentFailure": 0.05}},
			{"orders-db-outage", 1, map[string]float64{"ordersDbOutage": 1}},
			{"outage-recovery", 1, map[string]float64{"ordersDbOutage": 0.15}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			sc, err := Builtin(tt.pattern)
			require.NoError(t, err)
			assert.Equal(t, 30*time.Second, sc.Length())
			var got []phase
			for _, p := range sc.Phases {
				on := map[string]float64{}
				for f, v := range p.Flags {
					if v > 0 {
						on[f] = v
					}
				}
				if len(on) == 0 {
					on = nil
				}
				got = append(got, phase{p.Name, p.Rate, on})
			}
			assert.Equal(t, tt.phases, got)
		})
	}

	ct, err := Builtin("complex-topology")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(ct.Services), 15)
	assert.LessOrEqual(t, len(ct.Services), 20)
	kinds := map[Kind]int{}
	systems := map[string]bool{}
	for _, op := range ct.Operations {
		kinds[op.Kind]++
		if op.DB != nil {
			systems[op.DB.System] = true
		}
	}
	for _, k := range []Kind{KindHTTPServer, KindGRPCServer, KindDBClient, KindProducer, KindConsumer} {
		assert.Positive(t, kinds[k], "complex-topology has %s operations", k)
	}
	assert.GreaterOrEqual(t, len(systems), 3, "several database systems: %v", systems)
	// Deep: some entry reaches six operations down (calls and consumers).
	var depth func(id string) int
	depth = func(id string) int {
		op := ct.Op(id)
		best := 0
		for _, c := range op.Calls {
			best = max(best, depth(c.To))
		}
		for _, c := range op.Consumers {
			best = max(best, depth(c))
		}
		return best + 1
	}
	deepest := 0
	for _, e := range ct.Entries {
		deepest = max(deepest, depth(e.Operation))
	}
	assert.GreaterOrEqual(t, deepest, 6)

	// training-phases: no two phases have the same ground truth, and each
	// fault has a phase of its own.
	tp, err := Builtin("training-phases")
	require.NoError(t, err)
	seen := map[string]string{}
	for _, p := range tp.Phases {
		key := ""
		for _, f := range tp.Flags() {
			key += fmt.Sprintf("%s=%v;", f, p.Flags[f])
		}
		if other, dup := seen[key]; dup {
			t.Errorf("phases %s and %s have the same flags %s", other, p.Name, key)
		}
		seen[key] = p.Name
	}
}
