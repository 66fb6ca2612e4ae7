package confutil // import "github.com/recordreplay/otelcol-recordreplay/internal/confutil"

import (
	"errors"
	"fmt"
)

// FieldError is a bad value of one setting, or of one field of a control
// API request (the same names: a request's override is the setting it
// overrides), named by its path from the block that checked it
// ("time_range.start", "s3.bucket"). A component's Validate returns only
// FieldErrors (errors.Join of them), so that the control API can check an
// overridden configuration with the same Validate and answer 400 naming
// the field, and the collector's own walk of nested blocks adds the
// component's path in front.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// Errorf returns a FieldError of field with a formatted message (what is
// wrong with the value; the field's name comes first in Error).
func Errorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// In returns err with prefix in front of the field of every FieldError in
// it (through errors.Join), so that a block's own checks name their
// fields as the block's parent sees them; an error that is no FieldError
// becomes one of prefix. In(prefix, nil) is nil.
func In(prefix string, err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *FieldError:
		if e.Field == "" {
			return &FieldError{Field: prefix, Err: e.Err}
		}
		return &FieldError{Field: prefix + "." + e.Field, Err: e.Err}
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		out := make([]error, len(errs))
		for i, one := range errs {
			out[i] = In(prefix, one)
		}
		return errors.Join(out...)
	default:
		return &FieldError{Field: prefix, Err: err}
	}
}
