# The two commands: `make book` and `make test`. Both create .venv when it is missing and
# install the project into it (re-installing only when pyproject.toml changes).
SHELL  := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.l2lib-installed

.PHONY: book test lint format clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[book,test]'
	@touch $@

_vendor/.stamp: $(STAMP) book/vendor.sh
	PYTHON=$(PY) bash book/vendor.sh
	@touch $@

# Chapters read book/runs/ and never train: L2LIB_FORBID_TRAINING makes any training step
# during the build an error, so a build that needs a missing run fails instead of training.
# --all so that -W sees the warnings of unchanged pages too; the log is checked by the tests.
book: $(STAMP) _vendor/.stamp
	@mkdir -p _build
	L2BOOK_BUILD=1 L2LIB_FORBID_TRAINING=1 $(VENV)/bin/jupyter-book build . --all --warningiserror --keep-going 2>&1 | tee _build/book-build.log

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: book lint
	L2BOOK_BUILT=1 $(PY) -m pytest -q

clean:
	rm -rf _build _vendor
