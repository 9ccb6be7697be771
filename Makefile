# The two commands of the README:
#   make lab    set up, then run the SpikeCore Lab pipeline on real MNIST (ARGS="..." passes options)
#   make test   set up, then run every test (pytest + lit) and the type check (pyright)
# Tools run from the environment's bin/ (not `python -m`): from the repository root, `python -m`
# would import the source folder spikeir/ instead of the installed package with its sub-packages.
BIN := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV)/bin,.venv/bin)
JOBS ?= 2

.PHONY: setup lab test bench
setup:
	bash scripts/setup.sh

lab: setup
	$(BIN)/spikeir lab $(ARGS)

test: setup
	$(BIN)/pytest -q -n $(JOBS) tests
	$(BIN)/lit -q tests/lit
	$(BIN)/pyright --pythonpath $(BIN)/python

bench: setup
	$(BIN)/spikeir bench $(ARGS)
