# dagbridge — the two commands of the README:
#   make run    set up, build, and run dagbridge on the example rules and events
#   make test   set up, build, and run the whole test suite (what CI runs)
SWIFT ?= swift
BIN := .build/debug/dagbridge

.PHONY: run test setup build unit rules-check bench clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

run: build
	@echo "== dagbridge rules check --rules rules"
	@$(BIN) rules check --rules rules
	@echo
	@echo "== a GitHub push webhook through the example rules"
	@$(BIN) rules test --rules rules --source github --event examples/events/github-push.json \
	    --header 'X-GitHub-Event: push' --header 'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958'

test: build
	@scripts/setup.sh --test
	@echo "== Apache Airflow testbeds (cached venvs; the first run installs them from PyPI)"
	scripts/airflow-testbed.sh install 3.3.2
	scripts/airflow-testbed.sh install 2.11.2
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	@echo "== example rules validate"
	$(BIN) rules check --rules rules

bench: setup
	$(SWIFT) run -c release bench-rules

clean:
	rm -rf .build
