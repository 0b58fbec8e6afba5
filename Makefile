# `make demo` and `make test` work on a fresh clone: both create .venv and install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test pytest lint browser diagrams fastpath bench vscode clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# compat: the checkout on sys.path, not setuptools' import hook, which costs every `netspec` start ~30 ms
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/netspec check specs/lenet.yaml
	$(BIN)/netspec train specs/lenet.yaml

test: lint browser pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check netspec tests examples benchmarks
	$(BIN)/ruff format --check netspec tests examples benchmarks
	$(BIN)/mypy --python-executable $(BIN)/python netspec  # the venv's packages, whichever mypy runs

# Chromium for the browser test of `netspec draw` (tests/test_draw.py), installed only where that can be done quietly:
# as root with apt-get (CI), within 5 minutes, never failing the run (the test skips with a reason without it).
# NETSPEC_NO_BROWSER=1 skips the attempt.
browser:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$NETSPEC_NO_BROWSER" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium for the browser test (NETSPEC_NO_BROWSER=1 skips this)"; \
	  timeout 300 sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium fonts-dejavu-core' >/dev/null 2>&1 \
	    || echo "could not install chromium: the browser test will skip"; \
	else echo "no chromium, and no root apt-get to install it: the browser test will skip"; fi

# The figures the README and docs/drawing.md show.
diagrams: $(STAMP)
	$(BIN)/netspec draw specs/lenet.yaml -o docs/figures/lenet.svg
	$(BIN)/netspec draw specs/resnet18.yaml -o docs/figures/resnet18.svg
	$(BIN)/netspec draw specs/resnet18.yaml --depth 1 -o docs/figures/resnet18-depth1.svg
	$(BIN)/netspec draw specs/resnet18.yaml --direction LR --style blocks -o docs/figures/resnet18-blocks.svg
	$(BIN)/netspec draw tests/golden/branch-mismatch.yaml -o docs/figures/branch-mismatch.svg; test $$? = 1  # it has an error

# The fast path's table of checks (netspec/fastpath_table.py), written from the records: run it after changing
# a record in layers.py, spec.py or training/ (tests/test_fastpath.py says when it is stale).
fastpath: $(STAMP)
	$(BIN)/python -m netspec.fastpath_gen

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The VS Code extension (npm): editors/vscode/netspec.vsix. Not part of `make test`: it needs the npm registry.
vscode:
	cd editors/vscode && npm ci --no-audit --no-fund && npm run package

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis runs
