# The two commands of the README:  `make run`  and  `make test`.
VENV   ?= .venv
PORT   ?= 8000
PY     := $(VENV)/bin/python
KB     := $(VENV)/bin/kb
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup setup-test run build lint test chromium clean

# Running needs the product only; the test extra (playwright, schemathesis...) is for `make test`.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

## Build the sample knowledge base and serve site + API on http://127.0.0.1:$(PORT)/
run: setup
	$(KB) build
	$(KB) serve --port $(PORT)

build: setup
	$(KB) build

## ruff and mypy over both packages; their settings are in pyproject.toml.
lint: setup-test
	@status=0; \
	$(VENV)/bin/ruff check kb_builder intake_api || status=1; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status

## Install what the tests need (Debian's chromium included), lint, and run every test.
## Two parts: everything but the throughput and latency tests in three workers (one test file per
## worker; most tests wait on a browser, a server or a clock, so three keep two cores busy: 10 min 51 s
## against about 14 min with two, CHANGELOG), then those (marked `alone`) with the machine to themselves.
test: setup-test chromium lint
	@status=0; \
	$(PY) -m pytest -n 3 --dist loadfile -m "not alone" $(PYTEST_ARGS) || [ $$? -eq 5 ] || status=1; \
	$(PY) -m pytest -p no:xdist -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ] || status=1; \
	exit $$status

chromium:
	@bash scripts/ensure-chromium.sh

## Build outputs only. The database and the identity keys in instance/ are data:
## removing them makes every backup unreadable, so no make target does.
clean:
	rm -rf site build docs/faq docs/sop
