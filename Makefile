# Facegate: `make run` starts the whole cluster, `make test` runs the whole suite.
# Both install what they need first (Python >= 3.11 and a C compiler are all a machine needs).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install install-gpu run test test-fast lint bench compat k8s clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Facegate needs Python >= 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[prepare,test]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install Facegate with its test tools

install-gpu: $(STAMP) ## Swap onnxruntime for onnxruntime-gpu in .venv (GPU nodes)
	$(PIP) uninstall --yes onnxruntime
	$(PIP) install --quiet -r requirements-gpu.txt

run: install ## Start the cluster: REST on :8098, GraphQL on :8097 (embedded NATS/Postgres/Redis unless FACEGATE_*_URL are set)
	$(PY) -m shared.modelpack prepare
	$(PY) -m shared.cluster $(ARGS)

test: install ## Run the whole suite (real NATS, Postgres, Redis, models and photos)
	$(PY) -m ruff check .
	$(PY) -m mypy services shared tests benchmarks deploy
	sh tests/install_debs.sh rtsp
	sh tests/install_debs.sh browser
	$(PY) -m shared.modelpack prepare
	$(PY) -m pytest $(ARGS)

test-fast: install ## Run the suite without lint and type checks
	sh tests/install_debs.sh rtsp
	sh tests/install_debs.sh browser
	$(PY) -m shared.modelpack prepare
	$(PY) -m pytest $(ARGS)

lint: install ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m mypy services shared tests benchmarks deploy

bench: install ## Print the benchmark figures against a started cluster (see benchmarks/)
	$(PY) benchmarks/crud.py
	$(PY) benchmarks/cameras.py
	$(PY) benchmarks/graphql_api.py

compat: install ## Rewrite docs/compatibility.md from SmartFace's OpenAPI document
	$(PY) -m services.gateway.compatibility

k8s: install ## Regenerate k8s/ (plain manifests) from the Helm chart
	$(PY) deploy/render_k8s.py

clean: ## Remove the virtual environment and caches (keeps var/, the data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
