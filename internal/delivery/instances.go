package delivery // import "github.com/recordreplay/otelcol-recordreplay/internal/delivery"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/recordreplay/otelcol-recordreplay/internal/sharedcomponent"
)

// Receiver is a receiver whose one instance serves the traces, metrics and
// logs pipelines of its component ID through one Deliverer.
type Receiver interface {
	component.Component
	// Deliverer returns the Deliverer the pipelines are wired into.
	Deliverer() *Deliverer
}

// Instances holds the live instance of each component ID of one receiver
// type, C being its configuration type: every create call of a component
// ID gets the same instance, wired to that pipeline's next consumer. Its
// CreateTraces, CreateMetrics and CreateLogs are the factory's create
// functions.
type Instances[R Receiver, C component.Config] struct {
	shared *sharedcomponent.Map[component.ID, R]
	create func(receiver.Settings, C) (R, error)
}

// NewInstances returns an empty set of instances that create makes.
func NewInstances[R Receiver, C component.Config](create func(receiver.Settings, C) (R, error)) *Instances[R, C] {
	return &Instances[R, C]{shared: sharedcomponent.NewMap[component.ID, R](), create: create}
}

// Get returns the instance of set.ID, creating it from cfg if there is none.
func (in *Instances[R, C]) Get(set receiver.Settings, cfg component.Config) (*sharedcomponent.Component[R], error) {
	return in.shared.LoadOrStore(set.ID, func() (R, error) { return in.create(set, cfg.(C)) })
}

// Len reports how many instances are live (for tests).
func (in *Instances[R, C]) Len() int { return in.shared.Len() }

// CreateTraces is a receiver.CreateTracesFunc: the instance of set.ID with
// next as its traces pipeline.
func (in *Instances[R, C]) CreateTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	c, err := in.Get(set, cfg)
	if err != nil {
		return nil, err
	}
	c.Unwrap().Deliverer().SetTraces(next)
	return c, nil
}

// CreateMetrics is a receiver.CreateMetricsFunc, as CreateTraces.
func (in *Instances[R, C]) CreateMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	c, err := in.Get(set, cfg)
	if err != nil {
		return nil, err
	}
	c.Unwrap().Deliverer().SetMetrics(next)
	return c, nil
}

// CreateLogs is a receiver.CreateLogsFunc, as CreateTraces.
func (in *Instances[R, C]) CreateLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	c, err := in.Get(set, cfg)
	if err != nil {
		return nil, err
	}
	c.Unwrap().Deliverer().SetLogs(next)
	return c, nil
}
