# `make demo` and `make test` work on a fresh clone: both create .venv and install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test pytest lint bench vscode clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# compat: the checkout on sys.path, not setuptools' import hook, which costs every `netspec` start ~30 ms
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/netspec check specs/lenet.yaml
	$(BIN)/netspec train specs/lenet.yaml

test: lint pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check netspec tests examples benchmarks
	$(BIN)/ruff format --check netspec tests examples benchmarks
	$(BIN)/mypy --python-executable $(BIN)/python netspec  # the venv's packages, whichever mypy runs

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The VS Code extension (npm): editors/vscode/netspec.vsix. Not part of `make test`: it needs the npm registry.
vscode:
	cd editors/vscode && npm ci --no-audit --no-fund && npm run package

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis runs
