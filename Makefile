# Boom self-service. `make run` serves the demo; `make test` runs the whole suite on the real stack.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_CLUSTER = $(shell ls /etc/postgresql 2>/dev/null | head -1)

.PHONY: help install system-packages npm run test lint format translations messages services bench bank clean

help:
	@echo "make run    - the demo site on http://127.0.0.1:8000 (SQLite, embedded broker, localstripe)"
	@echo "make test   - the whole suite on PostgreSQL, Redis, Celery, localstripe and Chromium"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - throughput on gunicorn, PostgreSQL, Redis and localstripe; writes BENCHMARKS.md"
	@echo "make bank   - the bank test scaled up (50 customers); writes its counts to BENCHMARKS.md"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# gettext's msgfmt compiles the catalogues; Debian's chromium (and a CJK font for its
# screenshots) runs the browser tests.
system-packages:
	@missing=""; command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	 [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	 fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	 if [ -n "$$missing" ]; then \
	   echo "Installing$$missing with apt-get"; \
	   (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	   || { echo "Could not install$$missing: install them and run make again"; exit 1; }; \
	 fi

# npm packages, kept under var/node (ignored by git): axe-core for the browser tests'
# accessibility check (tests/browser/axe.py), Lighthouse for make bench (bench/lighthouse.py).
NODE_DIR := var/node
AXE_CORE := axe-core@4.14.1
LIGHTHOUSE := lighthouse@12.8.2
AXE_JS := $(NODE_DIR)/node_modules/axe-core/axe.min.js
LIGHTHOUSE_BIN := $(NODE_DIR)/node_modules/.bin/lighthouse

npm:
	@command -v npm >/dev/null || { echo "Installing npm with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null) \
	  || { echo "Could not install npm (Node.js's package manager): install it and run make again"; exit 1; }; }

$(AXE_JS):
	@$(MAKE) --no-print-directory npm
	mkdir -p $(NODE_DIR)
	npm install --silent --no-audit --no-fund --prefix $(NODE_DIR) $(AXE_CORE)

$(LIGHTHOUSE_BIN):
	@$(MAKE) --no-print-directory npm
	mkdir -p $(NODE_DIR)
	npm install --silent --no-audit --no-fund --prefix $(NODE_DIR) $(AXE_CORE) $(LIGHTHOUSE)

translations: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=tests --no-location

# Compiles every catalogue in LOCALE_PATHS: ours (locale/) and the hand-kept one for third-party
# apps that ship no Chinese (locale_vendor/, which makemessages never touches).
messages: $(STAMP)
	@command -v msgfmt >/dev/null || $(MAKE) system-packages
	msgfmt --check -o /dev/null locale_vendor/zh_Hans/LC_MESSAGES/django.po
	$(BIN)/python manage.py compilemessages --ignore=.venv -v0

run: $(STAMP) messages
	mkdir -p var/mail
	$(BIN)/python manage.py migrate --no-input -v0
	@echo
	@echo "  Boom is starting on http://127.0.0.1:8000"
	@set -o pipefail; $(BIN)/python manage.py seed_demo | sed 's/^/  /'
	@echo "  Emails: the console and var/mail/.  Ctrl-C stops everything."
	@echo
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile

# Start PostgreSQL and Redis if they are installed but stopped; fail clearly if absent.
services:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	   if [ -n "$(PG_CLUSTER)" ]; then pg_ctlcluster --skip-systemctl-redirect $(PG_CLUSTER) main start; \
	   else echo "PostgreSQL is not installed (need it on 127.0.0.1:5432)"; exit 1; fi; \
	 fi
	@if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	   if command -v redis-server >/dev/null; then \
	     redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; sleep 1; \
	   else echo "Redis is not installed (need it on 127.0.0.1:6379)"; exit 1; fi; \
	 fi
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start"; exit 1; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis did not start"; exit 1; }

test: $(STAMP) system-packages services messages $(AXE_JS)
	$(BIN)/pytest $(PYTEST_ARGS)

# Not part of test or CI: about a quarter of an hour. wrk (Debian's) is the load generator.
# BENCH_ARGS passes options to bench/run.py, e.g. BENCH_ARGS="--quick" or "--only pages,usage".
bench: $(STAMP) system-packages services messages $(LIGHTHOUSE_BIN)
	@command -v wrk >/dev/null || { echo "Installing wrk with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
	  || { echo "Could not install wrk: install it and run make bench again"; exit 1; }; }
	BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS=\"$(BENCH_ARGS)\")" $(BIN)/python -m bench.run $(BENCH_ARGS)

# The bank test (tests/reliability/test_bank.py) scaled up; not part of CI, a few minutes. Its
# counts and the verdict go to the "## Bank test" section of BENCHMARKS.md, pass or fail.
BANK_CUSTOMERS ?= 50
BANK_ROUNDS ?= 3
BANK_ENV = BANK_CUSTOMERS=$(BANK_CUSTOMERS) BANK_ROUNDS=$(BANK_ROUNDS) BANK_THREADS=24 BANK_TIMEOUT=900
bank: $(STAMP) services messages
	@mkdir -p var; rm -f var/bank.json
	$(BANK_ENV) BANK_SUMMARY=var/bank.json $(BIN)/pytest -q -p no:randomly -s tests/reliability/test_bank.py; \
	 status=$$?; \
	 $(BIN)/python -m bench.bank var/bank.json $$status "make bank BANK_CUSTOMERS=$(BANK_CUSTOMERS) BANK_ROUNDS=$(BANK_ROUNDS)" \
	 && exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var staticfiles .mypy_cache .ruff_cache
