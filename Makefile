# One entry point per task. Every target sets up what it needs (.venv, the extension).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CARGO  ?= cargo
HOST   ?= 127.0.0.1
PORT   ?= 8000

UPSTREAM_STAMP := $(VENV)/.installed-upstream

.PHONY: run test test-upstream lint bench develop develop-release clean-venv

$(STAMP): requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(UPSTREAM_STAMP): $(STAMP) requirements-upstream.txt
	$(PY) -m pip install --quiet -r requirements-upstream.txt
	touch $@

# Debug build of the extension: quick to compile, what the tests use.
develop: $(STAMP)
	cd tachyon-py && ../$(VENV)/bin/maturin develop --quiet

# Optimised build: what `make run` serves and `make bench` measures.
develop-release: $(STAMP)
	cd tachyon-py && ../$(VENV)/bin/maturin develop --release --quiet

run: develop-release
	$(PY) -m tachyon --app-dir examples hello:app --host $(HOST) --port $(PORT)

test: develop
	./scripts/check-layering.sh
	$(CARGO) test
	$(PY) -m pytest tachyon-py/tests
	$(MAKE) test-upstream

# Starlette's and FastAPI's own test suites, from their sdists, through the drop-in alias.
test-upstream: develop $(UPSTREAM_STAMP)
	$(PY) scripts/upstream_tests.py all --jobs 2

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

clean-venv:
	rm -rf $(VENV)
