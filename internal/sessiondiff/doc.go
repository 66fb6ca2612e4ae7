// Package sessiondiff compares two recorded sessions item by item: the last
// step of a validation workflow (seed → capture → replay → capture again →
// diff).
//
// Every span, data point and log record gets a canonical content key: a
// 64-bit hash of everything it holds (its resource and scope, name, kind,
// status, attributes, events, links, value, …) except trace and span ids.
// Without Options.Shifted the key holds the absolute timestamps as well;
// with it, only the item's internal timing (a span's duration and its
// events' offsets from its start, a data point's time − start time, a log
// record's observed − time offset), because a replay with timestamps
// `current` shifts every stored object by its own amount. References
// between items (a log record's or an exemplar's span, a span link) enter
// the key as the content key of the span they point at, so a consistent id
// remapping passes and a broken reference does not.
//
// Compare matches the multisets of keys per signal, pairs a missing item
// with an extra one of the same service and name to report it as changed
// (field by field), and compares trace shapes: each trace's parent/child
// tree built from span ids, hashed with children in a canonical order. A
// span whose parent id is not in its trace is an orphan, which changes the
// shape. Without Shifted, trace and span ids must also be equal.
//
// Memory: a side holds, per item, its keys, its group and, for spans, a few
// ids (with the indexes, about 200 bytes a span), never the pdata; one
// decoded object per side is in memory at a time. The readable details of
// the differences shown come from a second read of the items concerned.
package sessiondiff // import "github.com/recordreplay/otelcol-recordreplay/internal/sessiondiff"
