# The two commands of the README:  `make run`  and  `make test`.
VENV   ?= .venv
PORT   ?= 8000
PY     := $(VENV)/bin/python
KB     := $(VENV)/bin/kb
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup run build serve test chromium clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

## Build the sample knowledge base and serve site + API on http://127.0.0.1:$(PORT)/
run: setup
	$(KB) build
	$(KB) serve --port $(PORT)

build: setup
	$(KB) build

## Install what the tests need (Debian's chromium included) and run them all.
test: setup chromium
	$(PY) -m pytest $(PYTEST_ARGS)

chromium:
	@bash scripts/ensure-chromium.sh

clean:
	rm -rf site build instance docs/faq docs/sop
