package confutil

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fields lists the field of every FieldError in err, through errors.Join.
func fields(err error) []string {
	var out []string
	switch e := err.(type) {
	case *FieldError:
		out = append(out, e.Field)
	case interface{ Unwrap() []error }:
		for _, one := range e.Unwrap() {
			out = append(out, fields(one)...)
		}
	}
	return out
}

func TestFieldError(t *testing.T) {
	err := Errorf("copies", "%d must be between 1 and %d", 0, 1000)
	require.EqualError(t, err, "copies: 0 must be between 1 and 1000")
	fe, ok := errors.AsType[*FieldError](err)
	require.True(t, ok)
	assert.Equal(t, "copies", fe.Field)

	assert.EqualError(t, &FieldError{Err: errors.New("no field")}, "no field")
	sentinel := errors.New("sentinel")
	assert.ErrorIs(t, &FieldError{Field: "x", Err: sentinel}, sentinel)
}

// TestIn: a block's errors get the block's path in front, each once,
// through errors.Join and nested blocks; plain errors become the block's.
func TestIn(t *testing.T) {
	assert.NoError(t, In("store", nil))

	s3 := errors.Join(Errorf("bucket", "must not be empty"), Errorf("endpoint", "%q must be a URL", "ftp://x"))
	store := errors.Join(Errorf("timeout", "must be positive"), In("s3", s3), errors.New("plain"))
	err := In("store", store)
	assert.Equal(t, []string{"store.timeout", "store.s3.bucket", "store.s3.endpoint", "store"}, fields(err))
	assert.EqualError(t, err, "store.timeout: must be positive\nstore.s3.bucket: must not be empty\n"+
		"store.s3.endpoint: \"ftp://x\" must be a URL\nstore: plain")

	assert.EqualError(t, In("time_range", &FieldError{Err: errors.New("start after end")}), "time_range: start after end")
}
