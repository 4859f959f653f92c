# carepass: build, run and test. GNU make; needs bash, Go, Node.js with npm.
#
#   make run      local PostgreSQL (unless DATABASE_URL is set), assets, then the dev server
#   make test     everything CI runs (.ci/run calls this)
#   make help     all targets
#
# Without DATABASE_URL (and, for tests, MIGRATION_DATABASE_URL) in the environment,
# a private PostgreSQL cluster under .data/ is started or reused (scripts/pg.sh) and
# its URLs are read from .data/pg.env. CAREPASS_PG_PORT picks its port (54329).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

# Pinned Go tools (scripts/deps.sh) come first; Go itself is usually in /usr/local/go/bin.
export PATH := $(CURDIR)/.data/bin:$(PATH):/usr/local/go/bin

GO_TEST_FLAGS ?= -p 2 -count=1

# Start (or reuse) the local cluster and export its URLs, unless the caller set both URLs.
DB_ENV = if [[ -z "$${DATABASE_URL:-}" || -z "$${MIGRATION_DATABASE_URL:-}" ]]; then \
		scripts/pg.sh start >/dev/null; set -a; . ./.data/pg.env; set +a; \
	fi

# Start (or reuse) stripe-mock for the billing tests, unless the caller names a Stripe API.
STRIPE_ENV = if [[ -z "$${STRIPE_API_BASE:-}" ]]; then \
		scripts/stripe-mock.sh start >/dev/null; set -a; . ./.data/stripe-mock.env; set +a; \
	fi

.PHONY: help run build assets test test-go test-e2e lint bench deps deps-bench tools \
	db db-start db-stop db-status db-env mail-stop stripe-stop clean

help:
	@echo "make run        local database, mail catcher (inbox on 127.0.0.1:1080), assets, then the dev server on 127.0.0.1:8080"
	@echo "make test       deps, database, assets, lint, go test, browser tests (what CI runs)"
	@echo "make build      assets, then bin/carepass"
	@echo "make lint       gofmt, go vet, staticcheck"
	@echo "make test-go    go test only;  make test-e2e  browser tests only"
	@echo "make bench      benchmarks (scripts/bench.sh)"
	@echo "make assets     copy the NHS.UK frontend into web/static/vendor/nhsuk"
	@echo "make deps       install Chromium and the pinned Go tools when missing"
	@echo "make db-start | db-stop | db-status | db-env    the local PostgreSQL cluster"
	@echo "make mail-stop  stop the mail catcher make run started;  make stripe-stop  stop stripe-mock (the billing tests start it)"
	@echo "make clean      remove bin/ and web/static/vendor/ (not the database)"

run: assets
	@if [[ -z "$${DATABASE_URL:-}" ]]; then \
		scripts/pg.sh start; set -a; . ./.data/pg.env; set +a; unset ADMIN_DATABASE_URL; \
	fi; \
	if [[ -z "$${SMTP_HOST:-}" ]]; then scripts/mailcatcher.sh start; fi; \
	exec go run ./cmd/carepass dev

build: assets
	go build -o bin/carepass ./cmd/carepass

assets:
	@scripts/assets.sh

test: deps db assets lint test-go test-e2e

test-go: assets
	@$(DB_ENV); $(STRIPE_ENV); go test $(GO_TEST_FLAGS) ./...

test-e2e: assets
	@mapfile -t files < <(find web/e2e -type f \( -name '*.test.mjs' -o -name '*.test.js' \) 2>/dev/null | sort); \
	if (( $${#files[@]} == 0 )); then \
		echo "browser tests: none found (no web/e2e/*.test.mjs), so none ran"; \
	else \
		$(DB_ENV); node --test "$${files[@]}"; \
	fi

lint: tools assets
	@out="$$(find . \( -path ./.git -o -path ./.data -o -path ./node_modules -o -path ./bin -o -path ./web/static/vendor \) -prune \
		-o -type f -name '*.go' -print0 | xargs -0 -r gofmt -l)"; \
	if [[ -n "$$out" ]]; then echo "gofmt: these files are not formatted (run gofmt -w):"; echo "$$out"; exit 1; fi
	go vet ./...
	staticcheck ./...

bench: deps-bench db assets
	@$(DB_ENV); scripts/bench.sh

deps:
	@scripts/deps.sh

deps-bench:
	@scripts/deps.sh bench

tools:
	@scripts/deps.sh tools

# The local cluster, unless the environment already names the databases.
db:
	@if [[ -z "$${DATABASE_URL:-}" || -z "$${MIGRATION_DATABASE_URL:-}" ]]; then scripts/pg.sh start; fi

db-start:
	@scripts/pg.sh start

db-stop:
	@scripts/pg.sh stop

db-status:
	@scripts/pg.sh status || true

db-env:
	@scripts/pg.sh env

mail-stop:
	@scripts/mailcatcher.sh stop

stripe-stop:
	@scripts/stripe-mock.sh stop

clean:
	rm -rf bin web/static/vendor
