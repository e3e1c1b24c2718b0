# epcore: every command of the README lives here. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

# The web console's port (make console PORT=8800 when 8787 is taken).
PORT ?= 8787

# Rebuild the extension when any Rust source, manifest or the lock file changes.
RUST_SRC := $(shell find rust -name '*.rs' -not -path '*/target/*' -not -path 'rust/fuzz/*') \
            Cargo.toml Cargo.lock rust/epcore-core/Cargo.toml rust/epcore-python/Cargo.toml pyproject.toml

.DEFAULT_GOAL := help

.PHONY: help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.deps: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q 'maturin>=1.7,<2' 'numpy>=1.26' 'typer>=0.12' 'rich>=13' \
		'pytest>=8' 'pytest-benchmark>=4' 'hypothesis>=6.100' 'mypy>=1.10' 'pyarrow>=15' \
		'starlette>=1.3.1' 'uvicorn>=0.30' 'python-multipart>=0.0.18' 'matplotlib>=3.8' \
		'httpx>=0.27' 'playwright>=1.45' 'dask[dataframe]>=2024.8' 'distributed>=2024.8' \
		'nvidia-ml-py>=12.535'
	# Ray is optional (the Ray Data recipe's test runs only where it installs).
	$(PIP) install -q 'ray>=2.30' || echo "note: ray did not install; tests/test_ray_recipe.py will skip"
	touch $@

# The extension is built for this machine's CPU (AVX2 where it has it): the
# integration kernels are compute-bound on plain x86-64 SSE2. PORTABLE=1 builds
# for any x86-64, as a wheel for distribution must be.
ifeq ($(PORTABLE),1)
NATIVE_FLAGS :=
else
NATIVE_FLAGS := -C target-cpu=native
endif

$(VENV)/.built: $(VENV)/.deps $(RUST_SRC)
	RUSTFLAGS="$(NATIVE_FLAGS)" $(VENV)/bin/maturin develop --release -q
	touch $@

.PHONY: build
build: $(VENV)/.built  ## build the Rust core and install epcore into .venv

.PHONY: demo
demo: build  ## the seed scenario (and in BRL, facility, German grid, levers), then bundled samples: a power trace, an nvidia-smi log (gzip), a request log, energy per request, a plot and an HTML report (CONSOLE=1: then the web console)
	$(VENV)/bin/epcore calc --power-w 5600 --tokens-per-s 2500 --price-per-kwh 0.08 --currency USD --query-tokens 500
	$(VENV)/bin/epcore calc --power-w 5600 --tokens-per-s 2500 --price-per-kwh 0.08 --price-currency USD --currency BRL --pue 1.3 --grid DE --sensitivity
	$(VENV)/bin/epcore energy tests/data/sample_trace.csv
	$(VENV)/bin/epcore energy tests/data/sample_nvidia_smi.csv.gz --tz Europe/Berlin
	$(VENV)/bin/epcore tokens tests/data/sample_requests.csv
	$(VENV)/bin/epcore attribute --power tests/data/sample_attribution_power.csv --requests tests/data/sample_attribution_requests.csv
	mkdir -p demo-out
	$(VENV)/bin/epcore plot --power tests/data/sample_attribution_power.csv --requests tests/data/sample_attribution_requests.csv --out demo-out/power.png
	$(VENV)/bin/epcore report --power tests/data/sample_attribution_power.csv --requests tests/data/sample_attribution_requests.csv --out demo-out/report.html
	@echo "demo-out/report.html and demo-out/power.png written; 'make demo CONSOLE=1' or 'make console' starts the web console"
ifeq ($(CONSOLE),1)
	$(VENV)/bin/epcore console --port $(PORT)
endif

.PHONY: console
console: build  ## the local web console on 127.0.0.1 (PORT=8787): calculator, scenarios, trace upload; Ctrl-C stops it
	$(VENV)/bin/epcore console --port $(PORT)

.PHONY: test
test: build  ## cargo tests (proptest, doc tests) and pytest (hypothesis, doctests, stubtest)
	cargo test --workspace --exclude epcore-python -q
	$(PY) -m pytest -q

.PHONY: bench
bench: build  ## epcore against numpy, polars, pyarrow and duckdb side by side, with ratios; Dask 1 vs 2 workers
	$(PIP) install -q 'polars>=1.0' 'duckdb>=1.0' 'pandas>=2' 'dask[distributed]>=2024.1'
	$(PY) benches/compare.py
	$(PY) benches/bench_nvidia_smi.py
	$(PY) benches/bench_attribute.py
	$(PY) benches/bench_batch.py
	$(PY) benches/bench_dask.py

.PHONY: fuzz
fuzz:  ## cargo-fuzz every parser for FUZZ_SECONDS each (default 180; not in CI)
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	rust/fuzz/run.sh

.PHONY: lint
lint: build  ## clippy, mypy --strict and stubtest
	cargo clippy --workspace --all-targets -q -- -D warnings
	$(PY) -m mypy
	$(PY) -m mypy.stubtest epcore._core --allowlist tests/stubtest_allowlist.txt

.PHONY: format
format:  ## rustfmt
	cargo fmt --all

.PHONY: clean
clean:  ## remove build outputs and the virtualenv
	rm -rf $(VENV) target demo-out
