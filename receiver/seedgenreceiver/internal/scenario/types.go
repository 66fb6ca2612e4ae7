package scenario // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Kind is what an operation is, which decides its spans and attributes.
type Kind string

// Operation kinds.
const (
	KindHTTPServer Kind = "http_server" // an HTTP endpoint; callers get an HTTP client span
	KindGRPCServer Kind = "grpc_server" // a gRPC method; callers get a gRPC client span
	KindDBClient   Kind = "db_client"   // a database query made by the calling service
	KindProducer   Kind = "producer"    // a message sent by the calling service
	KindConsumer   Kind = "consumer"    // a message processed by a consumer service
	KindInternal   Kind = "internal"    // in-process work of the calling service
)

// Duration reads "5ms", "1.5s" from YAML.
type Duration time.Duration

// UnmarshalYAML parses a non-negative Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: invalid duration %q (want e.g. 5ms, 1.5s)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Scenario is a topology plus phases.
type Scenario struct {
	// Extends names a built-in pattern whose topology this scenario reuses:
	// its services and faults are merged (this file wins), operations
	// replace those with the same id or are added, entries and phases
	// replace the base's when given, and description and environment are
	// inherited when not set.
	Extends     string             `yaml:"extends"`
	Name        string             `yaml:"name"`
	Description string             `yaml:"description"`
	Environment string             `yaml:"environment"` // deployment.environment.name, default "seed"
	Services    map[string]Service `yaml:"services"`
	Operations  []*Operation       `yaml:"operations"`
	Entries     []Entry            `yaml:"entries"`
	Faults      map[string]*Fault  `yaml:"faults"`
	Phases      []Phase            `yaml:"phases"`

	ops map[string]*Operation
	// opDoc maps an operation's index to its index in this document's
	// operations list (-1: inherited), so errors point at the right line.
	opDoc []int
}

// Service is one service of the topology.
type Service struct {
	Version string `yaml:"version"`
	// Language is telemetry.sdk.language (go, java, python, ...).
	Language string `yaml:"language"`
}

// Operation is something a service does.
type Operation struct {
	ID      string  `yaml:"id"`
	Service string  `yaml:"service"`
	Kind    Kind    `yaml:"kind"`
	HTTP    *HTTP   `yaml:"http"`
	GRPC    *GRPC   `yaml:"grpc"`
	DB      *DB     `yaml:"db"`
	Message *Msg    `yaml:"messaging"`
	Latency Latency `yaml:"latency"`
	Calls   []Call  `yaml:"calls"`
	// Consumers are the consumer operations a producer's message reaches.
	Consumers []string `yaml:"consumers"`
	// ErrorType is the error.type recorded when this operation fails for
	// the baseline error rate (default by kind).
	ErrorType string `yaml:"error_type"`
}

// HTTP describes an HTTP endpoint.
type HTTP struct {
	Method string `yaml:"method"`
	Route  string `yaml:"route"`
	Port   int    `yaml:"port"`
}

// GRPC describes a gRPC method.
type GRPC struct {
	Service string `yaml:"service"` // fully qualified, e.g. oteldemo.CartService
	Method  string `yaml:"method"`
	Port    int    `yaml:"port"`
}

// DB describes a database query.
type DB struct {
	System     string `yaml:"system"`    // db.system.name, e.g. postgresql
	Operation  string `yaml:"operation"` // SELECT, INSERT, ...
	Collection string `yaml:"collection"`
	Host       string `yaml:"host"`
	Port       int    `yaml:"port"`
}

// Msg describes a messaging operation.
type Msg struct {
	System      string `yaml:"system"` // messaging.system, e.g. kafka
	Destination string `yaml:"destination"`
	// QueueDelay is how long a message waits before a consumer takes it.
	QueueDelay Latency `yaml:"queue_delay"`
}

// Latency is a log-normal distribution given by its median and p99.
type Latency struct {
	Median Duration `yaml:"median"`
	P99    Duration `yaml:"p99"`
}

// Call is a call from one operation to another.
type Call struct {
	To string `yaml:"to"`
	// Parallel calls start together with the previous call instead of
	// after it.
	Parallel bool `yaml:"parallel"`
	// Probability that the call happens at all (default 1).
	Probability *float64 `yaml:"probability"`
}

// Entry is a root operation and its share of traffic.
type Entry struct {
	Operation string  `yaml:"operation"`
	Weight    float64 `yaml:"weight"`
}

// FaultKind is what a fault does.
type FaultKind string

// Fault kinds.
const (
	FaultError   FaultKind = "error"   // the operation fails; its callers fail in turn
	FaultLatency FaultKind = "latency" // the operation is slow
)

// Fault is the behaviour behind a flag: with the flag at p, a share p of
// the invocations of Operation is faulty, spread evenly rather than drawn
// independently (see the generator).
type Fault struct {
	Operation string    `yaml:"operation"`
	Kind      FaultKind `yaml:"kind"`
	// For errors: what the failing operation reports.
	ErrorType  string `yaml:"error_type"`
	Message    string `yaml:"message"`
	HTTPStatus int    `yaml:"http_status"`
	GRPCStatus string `yaml:"grpc_status"`
	// For latency: the factor applied to the operation's own latency.
	LatencyFactor float64 `yaml:"latency_factor"`
}

// Phase is a stretch of the scenario with its own rate and flags.
type Phase struct {
	Name     string             `yaml:"name"`
	Duration Duration           `yaml:"duration"`
	Rate     float64            `yaml:"rate"` // multiplier of traces_per_second, default 1
	Flags    map[string]float64 `yaml:"flags"`
}

// Op returns the operation with id.
func (s *Scenario) Op(id string) *Operation { return s.ops[id] }

// Length is the scenario's own length: the sum of its phases.
func (s *Scenario) Length() time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += time.Duration(p.Duration)
	}
	return d
}

// Flags lists every flag the scenario defines, sorted.
func (s *Scenario) Flags() []string { return slices.Sorted(maps.Keys(s.Faults)) }

// ServiceNames lists the services, sorted.
func (s *Scenario) ServiceNames() []string { return slices.Sorted(maps.Keys(s.Services)) }
