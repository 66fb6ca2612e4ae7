package scenario // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver/internal/scenario"

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

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

// tidyYAMLError turns the decoder's multi-line type error into one line.
func tidyYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

// opAt is at for a path below operations[i], translated to this
// document's numbering.
func (s *Scenario) opAt(root *yaml.Node, msg string, i int, rest ...any) error {
	if s.opDoc[i] < 0 {
		return fmt.Errorf("operations (%s, inherited from %s): %s", s.Operations[i].ID, s.Extends, msg)
	}
	return at(root, msg, append([]any{"operations", s.opDoc[i]}, rest...)...)
}

// at reports an error at the line of the node reached by path (mapping
// keys and sequence indexes) in the document, falling back to the
// deepest node found.
func at(root *yaml.Node, msg string, path ...any) error {
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
