package sessioncontrolextension // import "github.com/recordreplay/otelcol-recordreplay/extension/sessioncontrolextension"

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// uiFiles is the session browser: a page and its script and style, with
// no data in them (the script reads the API, with the API's token), and
// nothing fetched from anywhere else.
//
//go:embed ui
var uiFiles embed.FS

// uiPolicy lets the page load only its own files and talk only to its own
// server, and no other site frame it.
const uiPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// withSessionBrowser serves the session browser's files under /ui/ and
// everything else through api. The files are the same for everyone, so
// they need no token (the data does); an authenticator extension, which
// confighttp puts in front of the whole server, still covers them.
func withSessionBrowser(api http.Handler) http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ui":
			http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, "/ui/"):
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				writeError(w, r, http.StatusMethodNotAllowed, codeMethodNotAllowed, "the session browser's files are read with GET")
				return
			}
			h := w.Header()
			h.Set("Content-Security-Policy", uiPolicy)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}
