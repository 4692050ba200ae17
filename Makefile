# Frontline — one Makefile for people and CI. `make help` lists the targets.
SHELL := /bin/bash
comma := ,
.DEFAULT_GOAL := help

# First interpreter of the right version that actually runs (pyenv shims may not).
find_python = $(shell for p in $(1); do $$p -c 'import sys; sys.exit(sys.version_info[:2] != ($(2)))' 2>/dev/null && { command -v $$p; break; }; done)
ifeq ($(origin PYTHON311),undefined)
PYTHON311 := $(call find_python,python3.11 python3 $$(pyenv root 2>/dev/null)/versions/3.11*/bin/python,3$(comma) 11)
endif
ifeq ($(origin PYTHON310),undefined)
PYTHON310 := $(call find_python,python3.10 $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python,3$(comma) 10)
endif
VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RASA_TELEMETRY_ENABLED := false
export TOKENIZERS_PARALLELISM := false

.PHONY: help setup run index serve train test test-deps lint bench bench-search bench-scale bench-quality-scale bench-analytics bench-help bench-load eval eval-faq eval-no-questions eval-clinc150 eval-banking77 eval-tuned screenshots demo report dashboard-assets lock clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(VENV)/.installed $(RASA_VENV)/.installed ## Create both virtualenvs (idempotent)

$(VENV)/.installed: requirements/app.lock pyproject.toml
	@if [ -z "$(PYTHON311)" ]; then \
	  echo "Frontline needs Python 3.11, which was not found."; \
	  echo "Install it (e.g. 'pyenv install 3.11' or 'apt-get install python3.11') or point to it:"; \
	  echo "  make setup PYTHON311=/path/to/python3.11"; exit 1; fi
	test -x $(PY) || $(PYTHON311) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements/app.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(RASA_VENV)/.installed: requirements/rasa.lock
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "Rasa 3.6 needs Python 3.10, which was not found."; \
	  echo "Install it (e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10') or point to it:"; \
	  echo "  make setup PYTHON310=/path/to/python3.10"; exit 1; fi
	test -x $(RASA_VENV)/bin/python || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install -q --upgrade pip
	$(RASA_VENV)/bin/python -m pip install -q -r requirements/rasa.lock
	touch $@

index: setup ## Index knowledge_base/ (incremental)
	$(VENV)/bin/frontline index

run: setup index ## Set up, index, train if needed, start Rasa + the service; prints the URL
	$(VENV)/bin/frontline run --host $(HOST) --port $(PORT)

serve: setup index ## The service alone (no assistant: chat answers that it is unavailable)
	$(VENV)/bin/frontline serve --host $(HOST) --port $(PORT)

train: setup ## Train the Rasa model if config.yml or bot/ changed
	$(VENV)/bin/frontline train

test: setup test-deps ## Set up, check the import contract, then run the whole test suite
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-deps: ## System packages the tests need (PostgreSQL, Redis, nginx, Chromium), via apt when missing
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing for the tests:$$missing (apt-get)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

lint: setup ## ruff, mypy and the import contract (layering)
	$(VENV)/bin/ruff check frontline indexer bot integrations tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

bench: setup ## Indexing benchmarks (prints figures; not a test)
	$(PY) bench/index.py

bench-embedding: setup ## Embedding chunks/s per backend vs the fp32 bound, one-thread query p50/p95
	timeout 40m nice $(PY) bench/embedding.py

bench-search: setup ## Search at 10k articles and a 100k-vector index: exact vs IVF, lexical, full path
	nice $(PY) bench/search.py

bench-scale: setup ## bench-search plus 100k articles and a 1M-chunk index (long; opt-in)
	timeout 3h nice $(PY) bench/search.py --scale

bench-quality-scale: setup ## Answer quality at 68 / 5,000 / 20,000 articles (sample KB + distractors, dev split) and the classifier at 50,000
	timeout 2h nice $(PY) bench/quality_scale.py
	timeout 1h nice $(PY) bench/quality_scale.py --classifier 5000,20000,50000

bench-analytics: setup test-deps ## Dashboard overview and report times at 10k/100k/1M events, SQLite + PostgreSQL
	$(PY) bench/analytics.py

demo: setup ## Demo data: simulated customers through the running `make run` stack (CUSTOMERS=200)
	$(VENV)/bin/frontline simulate --customers $(or $(CUSTOMERS),200) --url http://$(HOST):$(PORT)

report: setup ## The ops report of the last 7 days (SINCE=30d, FORMAT=json|csv)
	$(VENV)/bin/frontline report --since $(or $(SINCE),7d) --format $(or $(FORMAT),text)

dashboard-assets: ## Re-vendor the dashboard's chart library from npm (the built file is committed)
	npm ci --no-audit --no-fund
	mkdir -p frontline/api/dashboard/static/vendor/chart.js
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/LICENSE.md \
	  frontline/api/dashboard/static/vendor/chart.js/
	cp node_modules/@kurkle/color/LICENSE.md \
	  frontline/api/dashboard/static/vendor/chart.js/LICENSE-kurkle-color.md
bench-slack: setup ## Slack app latency: /ask ack and suggestions at 1 and 10 reps, customer → thread
	$(PY) bench/slack.py

bench-help: setup ## Help centre latency: /help/<id>, /help/search, /api/suggest p95 at the sample KB and 10,000 articles
	$(PY) bench/help.py

bench-load: setup test-deps ## Load on the deploy/ cluster: 1/20/50/100 chatting customers, 1,000 polling widgets (locust)
	nice $(PY) bench/load.py

eval: setup ## Evaluate the sample KB's labelled questions (dev split; SPLIT=test to report)
	$(VENV)/bin/frontline eval --split $(or $(SPLIT),dev)

eval-faq: setup ## A public FAQ (Swedish Construction FAQ, 503 articles, no example questions): dense/lexical/hybrid/default (SPLIT=test to report)
	$(PY) -m frontline.evaluation.faq var/faq-zaragoza
	$(VENV)/bin/frontline eval --kb var/faq-zaragoza --questions bench/data/zaragoza_faq_questions.yml --split $(or $(SPLIT),dev)

eval-no-questions: setup ## The sample KB with every questions: list removed: dense/lexical/hybrid/default (SPLIT=test to report)
	$(PY) -m frontline.evaluation.bare knowledge_base var/kb-no-questions
	$(VENV)/bin/frontline eval --kb var/kb-no-questions --split $(or $(SPLIT),dev)

eval-clinc150: setup ## CLINC150 in FAQ mode: calibrate on val, score test (several minutes)
	$(VENV)/bin/frontline eval --dataset clinc150 --calibrate --split test

eval-banking77: setup ## BANKING77 in FAQ mode: calibrate on held-out train, score test
	$(VENV)/bin/frontline eval --dataset banking77 --calibrate --split test

eval-tuned: setup ## CLINC150 and BANKING77 validation only: tune on train (once, stored), base vs tuned (TUNE_PAIRS=0: every pair)
	nice $(VENV)/bin/frontline eval --dataset clinc150 --calibrate --split dev --tuned-vs-base --tune-pairs $(or $(TUNE_PAIRS),1024)
	nice $(VENV)/bin/frontline eval --dataset banking77 --calibrate --split dev --tuned-vs-base --tune-pairs $(or $(TUNE_PAIRS),1024)

screenshots: setup test-deps ## Regenerate docs/widget-*.png, docs/dashboard.png and docs/help-centre.png with the browser tests
	FRONTLINE_SCREENSHOTS=$(CURDIR)/docs $(VENV)/bin/pytest -q tests/e2e/test_widget.py \
	  tests/e2e/test_dashboard.py tests/e2e/test_help_centre.py

lock: ## Re-resolve requirements/*.in into the lock files (needs the registry)
	rm -rf /tmp/frontline-lock && $(PYTHON311) -m venv /tmp/frontline-lock
	/tmp/frontline-lock/bin/pip install -q torch==2.13.0 -r requirements/app.in
	/tmp/frontline-lock/bin/pip freeze --exclude-editable > requirements/app.lock
	rm -rf /tmp/frontline-lock-rasa && $(PYTHON310) -m venv /tmp/frontline-lock-rasa
	/tmp/frontline-lock-rasa/bin/pip install -q -r requirements/rasa.in
	/tmp/frontline-lock-rasa/bin/pip freeze > requirements/rasa.lock

clean: ## Remove built indexes and caches (keeps the virtualenvs)
	rm -rf var models .pytest_cache .ruff_cache .mypy_cache
