// Package seedgenreceiver synthesizes deterministic, labelled traffic from
// a scenario (a service topology plus phases with fault flags) for seeding
// validation runs and anomaly-detection training data with ground truth.
package seedgenreceiver // import "github.com/recordreplay/otelcol-recordreplay/receiver/seedgenreceiver"
