# The two commands in the README: `make demo` and `make test`.
# Everything they need is installed by the targets below, from PyPI and Debian.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo needs only the panel's runtime packages; the tests add the dev tools.
RUN_STAMP := $(VENV)/.installed-runtime
# Parallel test processes (pytest-xdist); each starts its own pymap per backend.
PYTEST_WORKERS ?= 3
# Settings that `manage.py check --deploy` must pass: production, not DEBUG.
DEPLOY_ENV := DJANGO_DEBUG=0 DJANGO_SECRET_KEY=check-deploy-$(shell date +%s%N)-not-a-real-secret-key-0123456789abcdef DJANGO_ALLOWED_HOSTS=panel.example.org

.PHONY: demo quick test lint typecheck check-deploy pytest browser postgres start-postgres redis start-redis install protos bench wrk clean

$(RUN_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Command one: a local demo pymap and the panel on http://127.0.0.1:8000
demo: $(RUN_STAMP)
	$(BIN)/python -m devtools.demo

## Command two: every test, lint and type check (prints its wall time). The
## type check runs beside pytest, whose first minutes leave a core idle.
test:
	@start=$$(date +%s); $(MAKE) --no-print-directory lint check-deploy && \
	$(MAKE) --no-print-directory -j2 typecheck pytest; rc=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s wall time"; exit $$rc

## The fast loop: unit and dict-backend tests, no browser, no PostgreSQL, nothing from apt
quick: $(STAMP)
	@start=$$(date +%s); $(BIN)/ruff check . && \
	$(BIN)/python -W error::ResourceWarning -m pytest -n $(PYTEST_WORKERS) --dist load \
		--backend dict -m "not browser and not postgres" -q $(PYTEST_ARGS); rc=$$?; \
	echo "make quick: $$(( $$(date +%s) - start )) s wall time"; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/mypy adminpanel devtools tests manage.py

check-deploy: $(STAMP)
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
browser:
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The several-instances test needs PostgreSQL on 127.0.0.1:5432 (trust auth for
# "postgres"): start the machine's cluster, or install one, when it is not up.
postgres:
	pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || $(MAKE) --no-print-directory start-postgres

start-postgres:
	command -v pg_ctlcluster >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -n 1) main start || true
	for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; exit 1

# The redis-backend tests need Redis on 127.0.0.1:6379 (a database of their
# own, see devtools/pymap_redis.py): start the machine's, or install one.
redis:
	$(PYTHON) -c "import socket; socket.create_connection(('127.0.0.1', 6379), 1).close()" 2>/dev/null || $(MAKE) --no-print-directory start-redis

start-redis:
	command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	for i in $$(seq 30); do $(PYTHON) -c "import socket; socket.create_connection(('127.0.0.1', 6379), 1).close()" 2>/dev/null && exit 0; sleep 1; done; exit 1

pytest: $(STAMP) browser postgres redis
	$(BIN)/python -W error::ResourceWarning -m pytest -n $(PYTEST_WORKERS) --dist load $(PYTEST_ARGS)

## The web benchmark (README, "Performance"); run by hand, not part of `make test`
bench: $(STAMP) wrk
	$(BIN)/python -m devtools.bench.web $(BENCH_ARGS)

# The benchmark's load generator, written in C so it does not eat the panel's CPU.
wrk:
	command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

## Regenerate adminpanel/pymap/generated from protos/ (arguments in protos/protoc-args)
protos: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc @protos/protoc-args

clean:
	rm -rf $(VENV) .venv-pymap var .mypy_cache .ruff_cache .pytest_cache
