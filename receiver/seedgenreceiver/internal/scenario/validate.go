package scenario // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// grpcCodes are the gRPC status names a fault's grpc_status may give.
var grpcCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// validate checks the scenario, reporting the line and field at fault, and
// fills the defaults it documents: environment "seed" and phase rate 1.
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
