package main

import (
	"time"

	"github.com/recordreplay/otelcol-recordreplay/internal/sessionstore"
)

// extractReport is what extract --json prints: the new session's totals
// and what each session gave.
type extractReport struct {
	Session          string                          `json:"session"`
	Status           sessionstore.Status             `json:"status"`
	From             time.Time                       `json:"from"`
	To               time.Time                       `json:"to"`
	Objects          int64                           `json:"objects"`
	Items            sessionstore.ItemCounts         `json:"items"`
	StoredBytes      int64                           `json:"storedBytes"`
	RawBytes         int64                           `json:"rawBytes"`
	FirstCaptureTime time.Time                       `json:"firstCaptureTime"`
	LastCaptureTime  time.Time                       `json:"lastCaptureTime"`
	BadObjects       int64                           `json:"badObjects"`
	Sources          []sessionstore.ExtractedSession `json:"sources"`
	Skipped          []extractSkipped                `json:"skipped,omitempty"`
}

// extractSkipped is a session overlapping the window that extract did not
// take (without --session): active, or its metadata unreadable.
type extractSkipped struct {
	Session string `json:"session"`
	Reason  string `json:"reason"`
}

// extract is not there yet.
func (c *cli) extract([]string) int { return c.fail("extract: not implemented yet") }
