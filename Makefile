# Two commands do all set-up from a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DIST   ?= dist
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: serve test build bench bench-deps lint clean system-test-deps

$(BIN)/ezgraph: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-extras: $(BIN)/ezgraph
	$(BIN)/pip install --quiet -e '.[test,bench]'
	@touch $@

build: $(BIN)/ezgraph
	$(BIN)/ezgraph build --out $(DIST)

serve: build
	$(BIN)/ezgraph serve --host $(HOST) --port $(PORT) --dist $(DIST)

# Real components the tests use beside ezgraph: raptor's rapper and Apache Jena's SHACL engine
# (independent parsers and validator), Chromium (offline page checks), Virtuoso (a second remote
# SPARQL store, tests/test_store_virtuoso.py; its dba-password question is left to debconf's
# noninteractive default: the tests run their own instance with a fresh database), all from
# Debian, with wrk (the benchmark's load client, tests/test_bench_load.py); N3.js, jsonld.js
# and rdf-validate-shacl from npm, pinned by tests/crosscheck/package-lock.json.
DEBIAN_TEST_PACKAGES := raptor2-utils libapache-jena-java chromium virtuoso-opensource wrk

# $(call apt-install,PACKAGES,PURPOSE): install Debian packages when this is root on a machine
# with apt-get, else say what to install.
apt-install = if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing $(1) $(2)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	  else echo "note: install $(1) $(2)"; fi

system-test-deps:
	@if ! command -v rapper >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 \
	    || ! [ -f /usr/share/java/jena-shacl.jar ] || ! command -v virtuoso-t >/dev/null 2>&1 \
	    || ! command -v wrk >/dev/null 2>&1; then \
	  $(call apt-install,$(DEBIAN_TEST_PACKAGES),for the cross-tool tests); \
	fi

tests/crosscheck/node_modules/.installed: tests/crosscheck/package-lock.json
	cd tests/crosscheck && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: $(VENV)/.test-extras system-test-deps tests/crosscheck/node_modules/.installed
	$(BIN)/ruff check src tests bench server.py
	$(BIN)/python -m pytest -q

# wrk is the benchmark's load client; without it (and without root to install it) bench.run
# falls back to Python threads and says so in the results.
bench-deps:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  $(call apt-install,wrk,for the throughput runs (else Python threads load the servers)); \
	fi

bench: $(VENV)/.test-extras bench-deps
	$(BIN)/python -m bench.run

clean:
	rm -rf $(DIST) .pytest_cache bench/work
