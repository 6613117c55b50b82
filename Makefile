# The two entry points a new user types (see README):
#   make demo   - set up and describe productpage on the bundled demo cluster
#   make test   - set up everything the tests need (Python, Debian packages, the test API server) and run them
# Both are idempotent: stamps make the second run fast.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint system-deps testcluster clean

demo: $(VENV)/.installed
	$(BIN)/ambientctl describe pod productpage-v1 --demo

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml plugins/*/pyproject.toml
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e '.[test]' -e plugins/ambientctl-grpc -e plugins/ambientctl-tshark
	touch $@

system-deps:
	scripts/install-system-deps

# The real kube-apiserver for the live tests (built once per machine, cached in ~/.cache/ambientctl). The first
# build takes ~12 minutes: its progress lines go to stderr and must stay visible (no redirect here).
testcluster:
	scripts/testcluster/build

test: $(VENV)/.installed-test system-deps testcluster
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
