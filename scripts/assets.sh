#!/usr/bin/env bash
# Puts the NHS.UK frontend's compiled files where the Go server embeds them:
#
#   web/static/vendor/nhsuk/nhsuk-frontend.min.css   (its url()s made relative: assets/...)
#   web/static/vendor/nhsuk/nhsuk-frontend.min.js    (an ES module: import { initAll } from it)
#   web/static/vendor/nhsuk/assets/manifest.json
#   web/static/vendor/nhsuk/assets/images/...        (favicons, app icons, SVG icons)
#
# Runs 'npm ci' first when node_modules is missing or older than package-lock.json.
# web/static/vendor is not committed: run this (or 'make assets') before 'go build'.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$REPO"

if ! have node || ! have npm; then
	die "Node.js 20 or newer with npm is needed (Debian: apt-get install nodejs npm)"
fi

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
	log="$(mktemp)"
	if ! npm ci --include=dev --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		die "npm ci failed (output above)"
	fi
	rm -f "$log"
fi

# ---------------------------------------------------------------------------
# barcode-detector: the QR decoder behind camera scanning on /verify.
#
#   web/static/vendor/barcode-detector/ponyfill.js        (an ES module: BarcodeDetector, prepareZXingModule)
#   web/static/vendor/barcode-detector/zxing-exported.js  (imported by ponyfill.js)
#   web/static/vendor/barcode-detector/zxing_reader.wasm  (ZXing-C++ compiled to WebAssembly, from zxing-wasm)
#   web/static/vendor/barcode-detector/LICENSE, LICENSE.zxing-wasm
#
# static/verify-scan.js loads these only when the browser has no native
# BarcodeDetector that reads QR codes, and points the library at the copied
# .wasm (by default it would fetch it from a CDN). Kept before the NHS.UK
# block below, which exits early when its own files are up to date.
vendor_barcode_detector() {
	local pkg=node_modules/barcode-detector zx=node_modules/zxing-wasm
	local dest=web/static/vendor/barcode-detector
	[[ -d $pkg/node_modules/zxing-wasm ]] && zx=$pkg/node_modules/zxing-wasm
	local f
	for f in "$pkg/dist/es/ponyfill.js" "$pkg/dist/es/zxing-exported.js" "$pkg/LICENSE" \
		"$zx/dist/reader/zxing_reader.wasm" "$zx/LICENSE" "$zx/package.json"; do
		[[ -e $f ]] || die "$f not found: has barcode-detector changed its layout? (see package.json)"
	done
	# Browsers load these files as they are: they may import only each other.
	if grep -Eq '^(import|export)\b.*(from|import) *"[^.]' "$pkg/dist/es/ponyfill.js" "$pkg/dist/es/zxing-exported.js"; then
		die "barcode-detector's ES build imports another package: a browser cannot load it as it is"
	fi
	# The JavaScript is built for one decoder build: the copied .wasm must be it.
	local want have
	want="$(node --input-type=module -e "const m = await import('barcode-detector/ponyfill'); console.log(m.ZXING_WASM_VERSION + ' ' + m.ZXING_WASM_SHA256)")"
	have="$(node -e "const fs = require('fs'), c = require('crypto');
		console.log(JSON.parse(fs.readFileSync(process.argv[1], 'utf8')).version + ' ' +
			c.createHash('sha256').update(fs.readFileSync(process.argv[2])).digest('hex'))" \
		"$zx/package.json" "$zx/dist/reader/zxing_reader.wasm")"
	[[ $want == "$have" ]] || die "barcode-detector expects zxing-wasm $want but $zx has $have"

	local first=0
	[[ -d $dest ]] || first=1
	# Built outside web/static and moved into place, as for the NHS.UK files.
	mkdir -p web/static/vendor
	bd_tmp="$(mktemp -d "${TMPDIR:-/tmp}/carepass-barcode.XXXXXX")"
	trap 'rm -rf "$bd_tmp"' EXIT
	cp "$pkg/dist/es/ponyfill.js" "$pkg/dist/es/zxing-exported.js" "$zx/dist/reader/zxing_reader.wasm" "$bd_tmp/"
	cp "$pkg/LICENSE" "$bd_tmp/LICENSE"
	cp "$zx/LICENSE" "$bd_tmp/LICENSE.zxing-wasm"
	chmod -R u=rwX,go=rX "$bd_tmp"
	if [[ -d $dest ]] && diff -r -q "$bd_tmp" "$dest" >/dev/null 2>&1; then
		rm -rf "$bd_tmp"
	else
		rm -rf "$dest"
		mv "$bd_tmp" "$dest"
	fi
	trap - EXIT
	if ((first)); then
		echo "barcode-detector $(node -p 'require("./node_modules/barcode-detector/package.json").version') (zxing-wasm ${want%% *}) in $dest:"
		(cd "$dest" && find . -type f | sed 's#^\./#  #' | sort)
	fi
}
vendor_barcode_detector
# ---------------------------------------------------------------------------

SRC=node_modules/nhsuk-frontend/dist/nhsuk
DEST=web/static/vendor/nhsuk
for f in nhsuk-frontend.min.css nhsuk-frontend.min.js assets/manifest.json assets/images; do
	[[ -e $SRC/$f ]] || die "$SRC/$f not found: has nhsuk-frontend changed its layout? (see package.json)"
done

first=0
[[ -d $DEST ]] || first=1

# Built outside web/static (the server embeds that folder whole, hidden files too)
# and moved into place at the end.
mkdir -p web/static/vendor
tmp="$(mktemp -d "${TMPDIR:-/tmp}/carepass-nhsuk.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# The stylesheet points at /assets/images/...; make those URLs relative to the
# stylesheet so the folder works wherever the server mounts it. Source maps are
# not shipped, so drop the comments that point at them. The Frutiger web
# fonts are fetched from a third-party host and licensed for NHS services:
# drop their @font-face rules, so pages fall back to Arial and every
# request stays on this site.
sed -e 's#url(/assets/#url(assets/#g' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' \
	-e 's#@font-face{[^}]*}##g' \
	"$SRC/nhsuk-frontend.min.css" >"$tmp/nhsuk-frontend.min.css"
sed -e 's#//\# sourceMappingURL=.*$##' "$SRC/nhsuk-frontend.min.js" >"$tmp/nhsuk-frontend.min.js"
cp -R "$SRC/assets" "$tmp/assets"
if grep -q 'url(/\|url(https\?:' "$tmp/nhsuk-frontend.min.css"; then
	die "nhsuk-frontend.min.css still has root-relative or external url()s after rewriting"
fi
chmod -R u=rwX,go=rX "$tmp"

if [[ -d $DEST ]] && diff -r -q "$tmp" "$DEST" >/dev/null 2>&1; then
	exit 0 # already up to date
fi
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT

if ((first)); then
	echo "nhsuk-frontend $(node -p 'require("./node_modules/nhsuk-frontend/package.json").version') in $DEST:"
	(cd "$DEST" && find . -type f | sed 's#^\./#  #' | sort)
fi
