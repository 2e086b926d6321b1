# The two commands of the README:  make run  |  make test
PYTHON ?= python3
VENV   := .venv
SMTP_VENV := .venv-smtp
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
FLASK  := $(VENV)/bin/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres test-dates install install-test system-deps postgres redis bench bench-modules clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml $(SMTP_VENV)/.installed
	$(PIP) install -q -e '.[test]'
	touch $@

# The tests' SMTP server (aiosmtpd) lives in a venv of its own: aiosmtpd pulls in atpublic,
# whose top-level module ``public`` would shadow this project's public/ package.
$(SMTP_VENV)/.installed:
	$(PYTHON) -m venv $(SMTP_VENV)
	$(SMTP_VENV)/bin/pip install -q "aiosmtpd>=1.4,<2"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test system-deps

## Set up, migrate, load the demo alliance into an empty database, serve on :5000
run: install
	$(FLASK) init-db
	$(FLASK) seed-demo --if-empty
	$(VENV)/bin/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - 'app:create_app()'

# Instants (Asia/Shanghai) the date-sensitive tests run at again: the last day of a month,
# New Year's Eve at 23:30, 29 February, the first of a month, a Sunday.
TEST_DATES ?= 2026-11-30T20:00 2026-12-31T23:30 2028-02-29T09:00 2027-03-01T08:00 2026-12-06T15:00

## The whole suite, on SQLite and on PostgreSQL, then the date-sensitive tests at pinned dates
test: install-test postgres redis
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-dates

test-dates:
	@for t in $(TEST_DATES); do \
	  echo "== date-sensitive tests at $$t on SQLite and PostgreSQL =="; \
	  TEST_CLOCK=$$t $(VENV)/bin/pytest -m "dates and not browser and not server" $(PYTEST_ARGS) || exit 1; \
	  TEST_CLOCK=$$t TEST_DATABASE_URL=$(PG_TEST_URL) $(VENV)/bin/pytest -m "dates and not browser and not server" $(PYTEST_ARGS) || exit 1; \
	done

test-sqlite:
	@echo "== pytest on SQLite =="
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-postgres:
	@echo "== pytest on PostgreSQL =="
	TEST_DATABASE_URL=$(PG_TEST_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

# Debian packages the browser tests need (Chromium, CJK fonts); skipped when present.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "installing chromium and fonts-noto-cjk"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# Start the machine's PostgreSQL cluster when it is not answering.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

# Start the machine's Redis when it is not answering (only the tests of RATELIMIT_STORAGE_URL=redis:// use it;
# the app itself never needs it).
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "Redis did not start"; exit 1

## Benchmarks (not part of make test): issue 12's targets in one table, SQLite and
## PostgreSQL (when it answers) in one run; e.g. BENCH_ARGS="--quick" for a smoke run
bench: install-test
	$(PY) -m bench.table $(BENCH_ARGS)

## The detailed benchmarks, one module each (ratios against /healthz in the same run)
bench-modules: install-test
	$(PY) -m bench.public
	$(PY) -m bench.api
	$(PY) -m bench.dashboard
	$(PY) -m bench.admin_export
	$(PY) -m bench.imports
	$(PY) -m bench.notices
	$(PY) -m bench.storms

clean:
	rm -rf $(VENV) $(SMTP_VENV) instance/alliance.db* .pytest_cache test-artifacts
