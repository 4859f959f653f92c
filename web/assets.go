package web

import (
	"embed"
	"io/fs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed pages/*.html
var pageFS embed.FS

// static holds the app's own assets and, once the build has copied them, the
// NHS.UK frontend's compiled CSS, JS and images under vendor/nhsuk.
//
//go:embed all:static
var staticFS embed.FS

func pagesFS() fs.FS {
	sub, _ := fs.Sub(pageFS, "pages")
	return sub
}
