# Developer entry points. `make demo` and `make test` are the README's quick start; both
# install what they need first (Debian packages need root or sudo).
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test bench bench-scan bench-advisories bench-redhat-vex bench-nvd bench-baseimages bench-runtime bench-pipeline bench-recount bench-retest bench-sync lint

setup:
	@command -v docker-registry >/dev/null && command -v go >/dev/null && command -v chromium >/dev/null && command -v db5.3_load >/dev/null && command -v rpm >/dev/null || \
		( $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry golang-go chromium db5.3-util rpm >/dev/null )
	@$(PYTHON) -m pip install -q -e '.[test]'
	@# Bytecode, as a regular pip install writes it: an editable install does not, and where
	@# PYTHONDONTWRITEBYTECODE is set every CLI start would compile the package again (~40 ms).
	@$(PYTHON) -m compileall -q functions >/dev/null

demo: setup
	$(PYTHON) -m tests.support.demo

test: setup
	$(PYTHON) -m pytest -n 2 -q

bench: bench-scan bench-advisories bench-redhat-vex bench-nvd bench-baseimages bench-runtime bench-pipeline bench-recount bench-retest bench-sync

bench-scan: setup
	$(PYTHON) -m pip install -q -e '.[test,bench]'
	$(PYTHON) -m tests.bench.bench_scan

bench-advisories: setup
	$(PYTHON) -m tests.bench.bench_advisories

bench-redhat-vex: setup
	$(PYTHON) -m tests.bench.bench_redhat_vex

bench-nvd: setup
	$(PYTHON) -m tests.bench.bench_nvd

bench-baseimages: setup
	$(PYTHON) -m tests.bench.bench_baseimages

bench-runtime: setup
	$(PYTHON) -m tests.bench.bench_runtime

bench-pipeline: setup
	$(PYTHON) -m tests.bench.bench_pipeline

bench-recount: setup
	$(PYTHON) -m tests.bench.bench_recount

bench-retest: setup
	$(PYTHON) -m tests.bench.bench_retest

bench-sync: setup
	$(PYTHON) -m tests.bench.bench_sync

lint: setup
	$(PYTHON) -m ruff check functions tests
