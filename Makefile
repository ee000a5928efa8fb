# The two commands in the README's first lines; .ci/run runs `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test needs bench clean

demo: $(STAMP)
	$(BIN)/callassist demo $(DEMO_ARGS)

test: needs $(STAMP)
	$(BIN)/ruff check app telephony tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest
	sh tests/other_pythons.sh

# chromium, sipp, docker-compose and a CJK font: installed as root with apt-get, else named.
needs:
	@sh tests/needs.sh

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/screenpop.py
	$(BIN)/python bench/qa_queries.py

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "callassist needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache .hypothesis
