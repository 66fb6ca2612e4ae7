// Package sessioncontrolextension is the session_control extension: a
// small HTTP/JSON API to control the collector at run time. It lists the
// sessions of the stores its components use, opens new capture sessions,
// pauses and resumes captures, and starts and stops replays. Components
// opt in with `control: <extension id>` and register with it at Start
// (internal/control is the contract); the extension only calls what they
// registered.
package sessioncontrolextension // import "github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"
