# `make run` and `make test` each set up .venv on a fresh machine before doing their job.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean demo

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency pins change.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,ray]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/batchyard server

test: $(STAMP)
	$(PY) -m pytest -q

# The Job Poller sample: start a server in the background unless one answers on
# $(DEMO_ENDPOINT), deploy the sample, run it with the seed's input and print the result.
# DEMO_ARGS passes options on, e.g. DEMO_ARGS="--sync" or DEMO_ARGS="--wait-time 5".
DEMO_ENDPOINT ?= http://127.0.0.1:4580
DEMO_ARGS ?=

demo: $(STAMP)
	@if ! $(PY) -c "import httpx,sys; sys.exit(httpx.get('$(DEMO_ENDPOINT)/health', timeout=1).status_code != 200)" 2>/dev/null; then \
		mkdir -p .batchyard; \
		echo "starting batchyard server in the background (log: .batchyard/demo-server.log)"; \
		nohup $(VENV)/bin/batchyard server > .batchyard/demo-server.log 2>&1 & \
	fi
	$(VENV)/bin/batchyard samples deploy job-poller --endpoint-url $(DEMO_ENDPOINT) --wait $(DEMO_ARGS)

# ruff, mypy strict on src/ and the import contracts of pyproject.toml (layers, peers, no
# cycles); CI runs it before the suite.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,ray,bench]'
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .batchyard
