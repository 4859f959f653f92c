package web

import (
	"embed"
)

// templateFS holds the layout and shared partials.
//
//go:embed templates/*.html
var templateFS embed.FS

// pageFS holds the platform's own pages, under templates/ like a module's.
//
//go:embed pages/templates/*.html
var pageFS embed.FS

// static holds the app's own assets and, once the build has copied them, the
// NHS.UK frontend's compiled CSS, JS and images under vendor/nhsuk.
//
//go:embed all:static
var staticFS embed.FS
