// Package scenario defines seed scenarios — a service topology plus an
// ordered list of phases with fault flags — reads them from YAML with
// errors that name the line and field at fault, and holds the built-in
// patterns.
package scenario // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
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

// UnmarshalYAML parses a Go duration string.
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
	// replace the base's when given.
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

// Fault is the behaviour behind a flag: with the flag at p, each invocation
// of Operation is faulty with probability p.
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
func (s *Scenario) Flags() []string {
	var out []string
	for f := range s.Faults {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// ServiceNames lists the services, sorted.
func (s *Scenario) ServiceNames() []string {
	var out []string
	for n := range s.Services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

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

// Load reads a scenario file.
func Load(file string) (*Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("scenario file: %w", err)
	}
	return Parse(data, file)
}

// Parse reads and validates a scenario; errors start with source and the
// line of the field at fault.
func Parse(data []byte, source string) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("%s: %w", source, tidyYAMLError(err))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	sc.opDoc = make([]int, len(sc.Operations))
	for i := range sc.opDoc {
		sc.opDoc[i] = i
	}
	if sc.Extends != "" {
		base, err := Builtin(sc.Extends)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, at(&root, err.Error(), "extends"))
		}
		sc.inherit(base)
	}
	if err := sc.validate(&root); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &sc, nil
}

// inherit merges base under s (see Scenario.Extends).
func (s *Scenario) inherit(base *Scenario) {
	if s.Description == "" {
		s.Description = base.Description
	}
	if s.Environment == "" {
		s.Environment = base.Environment
	}
	services := map[string]Service{}
	for k, v := range base.Services {
		services[k] = v
	}
	for k, v := range s.Services {
		services[k] = v
	}
	s.Services = services
	own := map[string]int{}
	for i, op := range s.Operations {
		own[op.ID] = i
	}
	var ops []*Operation
	var doc []int
	for _, op := range base.Operations {
		if i, ok := own[op.ID]; ok {
			ops, doc = append(ops, s.Operations[i]), append(doc, i)
			delete(own, op.ID)
			continue
		}
		cp := *op
		ops, doc = append(ops, &cp), append(doc, -1)
	}
	for i, op := range s.Operations {
		if _, ok := own[op.ID]; ok {
			ops, doc = append(ops, op), append(doc, i)
		}
	}
	s.Operations, s.opDoc = ops, doc
	if len(s.Entries) == 0 {
		s.Entries = base.Entries
	}
	faults := map[string]*Fault{}
	for k, v := range base.Faults {
		faults[k] = v
	}
	for k, v := range s.Faults {
		faults[k] = v
	}
	s.Faults = faults
	if len(s.Phases) == 0 {
		s.Phases = base.Phases
	}
}

func tidyYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

// at reports an error at the line of the node reached by path (mapping
// keys and sequence indexes) in the document, falling back to the
// deepest node found.
func at(root *yaml.Node, msg string, path ...any) error {
	return atLine(root, msg, path...)
}

// opAt is at for a path below operations[i], translated to this
// document's numbering.
func (s *Scenario) opAt(root *yaml.Node, msg string, i int, rest ...any) error {
	if s.opDoc[i] < 0 {
		return fmt.Errorf("operations (%s, inherited from %s): %s", s.Operations[i].ID, s.Extends, msg)
	}
	return atLine(root, msg, append([]any{"operations", s.opDoc[i]}, rest...)...)
}

func atLine(root *yaml.Node, msg string, path ...any) error {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
walk:
	for _, p := range path {
		switch key := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				break walk
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				break walk
			}
		case int:
			if n.Kind != yaml.SequenceNode || key >= len(n.Content) {
				break walk
			}
			n = n.Content[key]
			line = n.Line
		}
	}
	field := ""
	for _, p := range path {
		switch key := p.(type) {
		case string:
			if field != "" {
				field += "."
			}
			field += key
		case int:
			field += fmt.Sprintf("[%d]", key)
		}
	}
	return fmt.Errorf("line %d: %s: %s", line, field, msg)
}

var grpcCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

func (s *Scenario) validate(root *yaml.Node) error {
	if s.Name == "" {
		return at(root, "must not be empty", "name")
	}
	if s.Environment == "" {
		s.Environment = "seed"
	}
	if len(s.Services) == 0 {
		return at(root, "at least one service is needed", "services")
	}
	s.ops = map[string]*Operation{}
	for i, op := range s.Operations {
		if op.ID == "" {
			return s.opAt(root, "must not be empty", i, "id")
		}
		if _, dup := s.ops[op.ID]; dup {
			return s.opAt(root, fmt.Sprintf("duplicate operation id %q", op.ID), i, "id")
		}
		s.ops[op.ID] = op
		if _, ok := s.Services[op.Service]; !ok {
			return s.opAt(root, fmt.Sprintf("unknown service %q (services: %s)", op.Service, strings.Join(s.ServiceNames(), ", ")), i, "service")
		}
		need := map[Kind]bool{}
		switch op.Kind {
		case KindHTTPServer:
			need[KindHTTPServer] = op.HTTP == nil
			if op.HTTP != nil && (op.HTTP.Method == "" || !strings.HasPrefix(op.HTTP.Route, "/")) {
				return s.opAt(root, "http needs a method and a route starting with /", i, "http")
			}
		case KindGRPCServer:
			need[KindGRPCServer] = op.GRPC == nil
			if op.GRPC != nil && (op.GRPC.Service == "" || op.GRPC.Method == "") {
				return s.opAt(root, "grpc needs service and method", i, "grpc")
			}
		case KindDBClient:
			need[KindDBClient] = op.DB == nil
			if op.DB != nil && (op.DB.System == "" || op.DB.Operation == "") {
				return s.opAt(root, "db needs system and operation", i, "db")
			}
		case KindProducer, KindConsumer:
			need[op.Kind] = op.Message == nil
			if op.Message != nil && (op.Message.System == "" || op.Message.Destination == "") {
				return s.opAt(root, "messaging needs system and destination", i, "messaging")
			}
		case KindInternal:
		default:
			return s.opAt(root, fmt.Sprintf("unknown kind %q: want http_server, grpc_server, db_client, producer, consumer or internal", op.Kind), i, "kind")
		}
		if need[op.Kind] {
			block := map[Kind]string{KindHTTPServer: "http", KindGRPCServer: "grpc", KindDBClient: "db", KindProducer: "messaging", KindConsumer: "messaging"}[op.Kind]
			return s.opAt(root, fmt.Sprintf("kind %s needs a %s block", op.Kind, block), i)
		}
		if op.Latency.Median <= 0 {
			return s.opAt(root, "latency.median must be positive", i, "latency")
		}
		if op.Latency.P99 < op.Latency.Median {
			return s.opAt(root, "latency.p99 must be at least the median", i, "latency")
		}
		if len(op.Consumers) > 0 && op.Kind != KindProducer {
			return s.opAt(root, "only producer operations have consumers", i, "consumers")
		}
	}
	for i, op := range s.Operations {
		for j, c := range op.Calls {
			callee, ok := s.ops[c.To]
			if !ok {
				return s.opAt(root, fmt.Sprintf("unknown operation %q", c.To), i, "calls", j, "to")
			}
			local := callee.Kind == KindDBClient || callee.Kind == KindProducer || callee.Kind == KindInternal
			if local && callee.Service != op.Service {
				return s.opAt(root, fmt.Sprintf("%s is a %s operation of %s; only %s itself can call it", c.To, callee.Kind, callee.Service, callee.Service), i, "calls", j, "to")
			}
			if callee.Kind == KindConsumer {
				return s.opAt(root, fmt.Sprintf("%s is a consumer: list it under a producer's consumers", c.To), i, "calls", j, "to")
			}
			if c.Probability != nil && (*c.Probability < 0 || *c.Probability > 1) {
				return s.opAt(root, "must be between 0 and 1", i, "calls", j, "probability")
			}
		}
		for j, c := range op.Consumers {
			if callee, ok := s.ops[c]; !ok || callee.Kind != KindConsumer {
				return s.opAt(root, fmt.Sprintf("%q is not a consumer operation", c), i, "consumers", j)
			}
		}
	}
	if err := s.checkCycles(root); err != nil {
		return err
	}
	if len(s.Entries) == 0 {
		return at(root, "at least one entry operation is needed", "entries")
	}
	for i, e := range s.Entries {
		op, ok := s.ops[e.Operation]
		if !ok {
			return at(root, fmt.Sprintf("unknown operation %q", e.Operation), "entries", i, "operation")
		}
		if op.Kind != KindHTTPServer && op.Kind != KindGRPCServer {
			return at(root, "an entry must be an http_server or grpc_server operation", "entries", i, "operation")
		}
		if e.Weight <= 0 || math.IsInf(e.Weight, 0) {
			return at(root, "must be positive", "entries", i, "weight")
		}
	}
	for name, f := range s.Faults {
		if _, ok := s.ops[f.Operation]; !ok {
			return at(root, fmt.Sprintf("unknown operation %q", f.Operation), "faults", name, "operation")
		}
		switch f.Kind {
		case FaultError:
			if f.GRPCStatus != "" && !slices.Contains(grpcCodes, f.GRPCStatus) {
				return at(root, fmt.Sprintf("unknown gRPC status %q", f.GRPCStatus), "faults", name, "grpc_status")
			}
			if f.HTTPStatus != 0 && (f.HTTPStatus < 400 || f.HTTPStatus > 599) {
				return at(root, "must be a 4xx or 5xx status", "faults", name, "http_status")
			}
		case FaultLatency:
			if f.LatencyFactor <= 1 {
				return at(root, "must be greater than 1", "faults", name, "latency_factor")
			}
		default:
			return at(root, fmt.Sprintf("unknown kind %q: want error or latency", f.Kind), "faults", name, "kind")
		}
	}
	if len(s.Phases) == 0 {
		return at(root, "at least one phase is needed", "phases")
	}
	seen := map[string]bool{}
	for i := range s.Phases {
		p := &s.Phases[i]
		if p.Name == "" || seen[p.Name] {
			return at(root, fmt.Sprintf("phase names must be set and unique (%q)", p.Name), "phases", i, "name")
		}
		seen[p.Name] = true
		if p.Duration <= 0 {
			return at(root, "must be positive", "phases", i, "duration")
		}
		if p.Rate == 0 {
			p.Rate = 1
		}
		if p.Rate < 0 {
			return at(root, "must be positive", "phases", i, "rate")
		}
		for f, v := range p.Flags {
			if _, ok := s.Faults[f]; !ok {
				return at(root, fmt.Sprintf("unknown flag %q (faults: %s)", f, strings.Join(s.Flags(), ", ")), "phases", i, "flags", f)
			}
			if v < 0 || v > 1 {
				return at(root, "a flag is a probability between 0 and 1", "phases", i, "flags", f)
			}
		}
	}
	return nil
}

// checkCycles refuses call graphs that loop (a trace must end).
func (s *Scenario) checkCycles(root *yaml.Node) error {
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(id string, trail []string) error
	visit = func(id string, trail []string) error {
		switch state[id] {
		case 1:
			i := slices.IndexFunc(s.Operations, func(o *Operation) bool { return o.ID == id })
			return s.opAt(root, "calls loop: "+strings.Join(append(trail, id), " -> "), i, "calls")
		case 2:
			return nil
		}
		state[id] = 1
		op := s.ops[id]
		next := slices.Clone(op.Consumers)
		for _, c := range op.Calls {
			next = append(next, c.To)
		}
		for _, n := range next {
			if err := visit(n, append(trail, id)); err != nil {
				return err
			}
		}
		state[id] = 2
		return nil
	}
	for _, op := range s.Operations {
		if err := visit(op.ID, nil); err != nil {
			return err
		}
	}
	return nil
}
