# One entry point per task. Every target sets up what it needs (.venv, the extension).
# The interpreter and its venv: `make test PYTHON=python3.12 VENV=.venv-3.12` tests on another
# Python (all venvs share one cargo target directory; only the pyo3 layer rebuilds per version).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# pyo3 builds for the venv's interpreter, in `cargo test` too (not whatever python3 is on PATH).
export PYO3_PYTHON := $(abspath $(PY))
STAMP  := $(VENV)/.installed
CARGO  ?= cargo
HOST   ?= 127.0.0.1
PORT   ?= 8000

UPSTREAM_STAMP := $(VENV)/.installed-upstream
# 1: `make test` also runs Starlette's and FastAPI's own suites (test-upstream).
UPSTREAM ?= 1

.PHONY: fuzz run test test-upstream test-all-pythons lint bench bench-pythons develop develop-release clean-venv dist dist-sdist dist-wheel dist-test

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(UPSTREAM_STAMP): $(STAMP) requirements-upstream.txt
	$(PY) -m pip install --quiet -r requirements-upstream.txt
	touch $@

# Debug build of the extension: quick to compile, what the tests use; with the test-only
# hooks (the `test-hooks` feature: a binding that panics), which no release build has.
develop: $(STAMP)
	cd tachyon-py && VIRTUAL_ENV=$(abspath $(VENV)) ../$(VENV)/bin/maturin develop --quiet --features test-hooks

# Optimised build: what `make run` serves and `make bench` measures.
develop-release: $(STAMP)
	cd tachyon-py && VIRTUAL_ENV=$(abspath $(VENV)) ../$(VENV)/bin/maturin develop --release --quiet

run: develop-release
	$(PY) -m tachyon --app-dir examples hello:app --host $(HOST) --port $(PORT)

test: develop
	./scripts/check-layering.sh
	$(CARGO) test
	$(PY) -m pytest tachyon-py/tests
ifeq ($(UPSTREAM),1)
	$(MAKE) test-upstream PYTHON="$(PYTHON)" VENV="$(VENV)"
endif

# Starlette's and FastAPI's own test suites, from their sdists, through the drop-in alias.
test-upstream: develop $(UPSTREAM_STAMP)
	$(PY) scripts/upstream_tests.py all --jobs 2

# The whole suite on every supported CPython this machine has, each in its own .venv-3.X;
# fails if any is red (what CI runs). SUPPORTED_PYTHONS matches pyproject's requires-python.
SUPPORTED_PYTHONS := 3.11 3.12 3.13
test-all-pythons:
	./scripts/test-all-pythons.sh $(SUPPORTED_PYTHONS)

lint: develop
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check tachyon-py/python tachyon-py/tests examples benches
	$(VENV)/bin/ruff format --check tachyon-py/python tachyon-py/tests examples benches
	$(PY) -m mypy.stubtest tachyon._tachyon

bench: develop-release
	$(PY) -m pip install --quiet -r benches/requirements.txt
	$(CARGO) bench -p tachyon-benches
	mkdir -p bench-results
	$(PY) benches/comprehensive_benchmark.py --json bench-results/comprehensive.json --write-docs --chart docs/performance.png

# The JSON and in-process request rows on each supported Python (release build in each
# .venv-X.Y), saved per version in benches/results/, then their section of docs/performance.md.
bench-pythons:
	./scripts/find-pythons.sh $(SUPPORTED_PYTHONS) | while read -r v py; do \
	  $(MAKE) develop-release PYTHON=$$py VENV=.venv-$$v </dev/null && \
	  .venv-$$v/bin/python -m pip install --quiet -r benches/requirements.txt && \
	  .venv-$$v/bin/python benches/comprehensive_benchmark.py --only json --only request \
	    --json benches/results/python-$$v.json || exit 1; \
	done
	python3 benches/python_versions.py --write-docs benches/results/python-*.json

# Every cargo-fuzz target (fuzz/fuzz_targets: one per parser that sees client bytes) for
# FUZZ_SECONDS each, on the nightly toolchain; installs the nightly toolchain (through rustup)
# and cargo-fuzz when missing. Prints each target's executions and corpus from libFuzzer's
# final stats; stops at the first crash.
FUZZ_SECONDS ?= 60
fuzz:
	rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./fuzz/run.sh $(FUZZ_TARGETS)

clean-venv:
	rm -rf $(VENV)

# Release wheels and the sdist, into dist/: one manylinux wheel per supported CPython found
# here, not one abi3 wheel (the JSON fast paths read CPython internals that the stable ABI
# hides; docs/index.md, "Wheels"). MANYLINUX: the oldest glibc the wheels must run on;
# maturin refuses to tag a wheel that needs a newer one.
DIST      ?= dist
MANYLINUX ?= manylinux_2_34
MATURIN_BUILD = cd tachyon-py && VIRTUAL_ENV= ../$(VENV)/bin/maturin build --release --quiet \
	--compatibility $(MANYLINUX) --out $(abspath $(DIST))
dist: $(STAMP)
	rm -f $(DIST)/tachyon_engine-*
	$(MAKE) dist-sdist
	$(MATURIN_BUILD) $$(../scripts/find-pythons.sh $(SUPPORTED_PYTHONS) | awk '{print "-i", $$2}')

dist-sdist: $(STAMP)
	cd tachyon-py && ../$(VENV)/bin/maturin sdist --out $(abspath $(DIST))

# The release wheel for $(PYTHON) alone (what dist-test installs; one release build).
dist-wheel: $(STAMP)
	$(MATURIN_BUILD) -i $(abspath $(PY))

# That wheel, installed in a fresh venv outside the repository: imports, is a release build,
# serves examples/hello.py and the docs' quick start over HTTP, runs the docs' runnable blocks;
# and the sdist: its contents, and that maturin reads its metadata.
dist-test: dist-wheel dist-sdist
	$(PY) scripts/dist_test.py --dist $(DIST) --python $(abspath $(PY)) --manylinux $(MANYLINUX)
