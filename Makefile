# Trainyard developer commands. `make run` and `make test` work on a fresh clone.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
ENGINE := scripts/docker-engine.sh
CLUSTER := scripts/slurm-cluster.sh
# The private Docker engine the tests and `make demo` use (see scripts/docker-engine.sh).
TEST_DOCKER_HOST := unix:///run/trainyard-docker/docker.sock
# The private one-node Slurm cluster the slurm tests use (see scripts/slurm-cluster.sh).
TEST_SLURM_CONF := /var/lib/trainyard-slurm/slurm.conf

.PHONY: install run test test-fast lint bench bench-deps demo engine engine-down cluster cluster-down clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: install  ## serve the API on TRAINYARD_HOST:TRAINYARD_PORT (127.0.0.1:8000)
	$(VENV)/bin/trainyard serve

engine:  ## install (if needed) and start the private Docker engine, build the test image
	$(ENGINE) up

engine-down:
	$(ENGINE) down

cluster:  ## install (if needed) and start the private one-node Slurm cluster
	$(CLUSTER) up

cluster-down:
	$(CLUSTER) down

test: install engine cluster  ## the whole suite, Docker- and Slurm-executor tests included
	DOCKER_HOST=$(TEST_DOCKER_HOST) SLURM_CONF=$(TEST_SLURM_CONF) $(PY) -m pytest $(PYTEST_ARGS)

test-fast: install  ## the suite without the Docker engine (its tests are skipped, saying why)
	$(PY) -m pytest -m "not docker and not slurm" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check server common tui cli tests bench demo trainyard_cli.py
	$(VENV)/bin/mypy

bench-deps:  ## install what the benchmarks run beside Python (wrk), as root with apt
	scripts/bench-deps.sh

bench: install bench-deps  ## benchmarks; prints a table
	$(PY) -m bench

demo: install engine  ## a demo workspace + container, and a server using them
	DOCKER_HOST=$(TEST_DOCKER_HOST) scripts/demo.sh

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
