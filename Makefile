# The two commands of the README:
#   make lab    set up, then run the SpikeCore Lab pipeline on real MNIST (ARGS="..." passes options)
#   make test   set up, then run every test (pytest + lit), ruff and pyright
# Set-up runs again only when pyproject.toml or scripts/setup.sh changed since the last one (a stamp
# in the environment); `make setup` forces it.
ENV := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),.venv)
BIN := $(ENV)/bin
STAMP := $(ENV)/.spikeir-setup
JOBS ?= 2

.PHONY: setup lab test bench
setup:
	bash scripts/setup.sh
	touch $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/spikeir lab $(ARGS)

test: $(STAMP)
	$(BIN)/pytest -q -n $(JOBS) tests
	$(BIN)/lit -q tests/lit
	$(BIN)/ruff check .
	bash scripts/typecheck.sh $(BIN)/python

bench: $(STAMP)
	$(BIN)/spikeir bench $(ARGS)
