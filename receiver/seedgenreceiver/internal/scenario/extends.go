package scenario // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"

import "maps"

// inherit merges base under s (see Scenario.Extends).
func (s *Scenario) inherit(base *Scenario) {
	if s.Description == "" {
		s.Description = base.Description
	}
	if s.Environment == "" {
		s.Environment = base.Environment
	}
	services := map[string]Service{}
	maps.Copy(services, base.Services)
	maps.Copy(services, s.Services)
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
	maps.Copy(faults, base.Faults)
	maps.Copy(faults, s.Faults)
	s.Faults = faults
	if len(s.Phases) == 0 {
		s.Phases = base.Phases
	}
}
