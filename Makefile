# The two commands in the README: `make demo` and `make test`.
# Everything they need is installed by the targets below, from PyPI and Debian.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo needs only the panel's runtime packages; the tests add the dev tools.
RUN_STAMP := $(VENV)/.installed-runtime
# Python keeps its bytecode (__pycache__, ignored by git) even where the machine
# says not to: the tests start a hundred processes (panels, manage.py, pytest
# workers) that would each compile the project, and pytest rewrite it, again.
unexport PYTHONDONTWRITEBYTECODE
# Parallel test processes (pytest-xdist); each starts its own pymap per backend.
PYTEST_WORKERS ?= 3
# `make test` runs the browser tests in a pytest of their own beside the rest:
# Chromium keeps the CPU busy while the other tests mostly wait for pymap.
BROWSER_WORKERS ?= 2
REST_WORKERS ?= 5
PYTEST := $(BIN)/python -W error::ResourceWarning -m pytest --dist load
# apt-get waits for another's lock (the browser and PostgreSQL installs may meet).
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
APT_INSTALL := $(APT_GET) update -qq && $(APT_GET) install -y -qq
# Settings that `manage.py check --deploy` must pass: production, not DEBUG.
DEPLOY_ENV := DJANGO_DEBUG=0 DJANGO_SECRET_KEY=check-deploy-$(shell date +%s%N)-not-a-real-secret-key-0123456789abcdef DJANGO_ALLOWED_HOSTS=panel.example.org

.PHONY: demo quick test lint typecheck check-deploy pytest pytest-browser pytest-rest pymap-venv browser postgres start-postgres redis start-redis install protos bench wrk clean

# uv installs what pip would, from the same constraints, in 13 s instead of
# pip's 41 s here (a fresh venv with the dev tools); pip only brings uv.
UV_INSTALL := $(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode -c constraints.txt

$(RUN_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt uv
	$(UV_INSTALL) -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(UV_INSTALL) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Command one: a local demo pymap and the panel on http://127.0.0.1:8000
demo: $(RUN_STAMP)
	$(BIN)/python -m devtools.demo

## Command two: every test, lint and type check (prints its wall time). The
## type check and the two pytest runs go side by side; each run's output is
## printed whole when it ends.
test:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -j4 --output-sync=target \
		pymap-venv browser postgres redis lint check-deploy && \
	$(MAKE) --no-print-directory -j3 --output-sync=target typecheck pytest-browser pytest-rest; \
	rc=$$?; echo "make test: $$(( $$(date +%s) - start )) s wall time"; exit $$rc

## The fast loop: unit and dict-backend tests, no browser, no PostgreSQL, nothing from apt
quick: $(STAMP)
	@start=$$(date +%s); $(BIN)/ruff check . && \
	$(PYTEST) -n $(PYTEST_WORKERS) \
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

# pymap's own venv (devtools/pymap_venv.py, standard library only), made
# beside the panel's instead of by the first test that starts a pymap.
pymap-venv:
	$(PYTHON) -c "from devtools.pymap_venv import ensure_pymap_venv; ensure_pymap_venv()"

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
browser:
	command -v chromium >/dev/null || { $(APT_INSTALL) chromium; }

# The several-instances test needs PostgreSQL on 127.0.0.1:5432 (trust auth for
# "postgres"): start the machine's cluster, or install one, when it is not up.
postgres:
	pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || $(MAKE) --no-print-directory start-postgres

start-postgres:
	command -v pg_ctlcluster >/dev/null || { $(APT_INSTALL) postgresql; }
	pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -n 1) main start || true
	for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; exit 1

# The redis-backend tests need Redis on 127.0.0.1:6379 (a database of their
# own, see devtools/pymap_redis.py): start the machine's, or install one.
redis:
	$(PYTHON) -c "import socket; socket.create_connection(('127.0.0.1', 6379), 1).close()" 2>/dev/null || $(MAKE) --no-print-directory start-redis

start-redis:
	command -v redis-server >/dev/null || { $(APT_INSTALL) redis-server; }
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	for i in $$(seq 30); do $(PYTHON) -c "import socket; socket.create_connection(('127.0.0.1', 6379), 1).close()" 2>/dev/null && exit 0; sleep 1; done; exit 1

pytest: $(STAMP) browser postgres redis
	$(PYTEST) -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

pytest-browser: $(STAMP) browser redis
	$(PYTEST) -n $(BROWSER_WORKERS) -m browser $(PYTEST_ARGS)

pytest-rest: $(STAMP) postgres redis
	$(PYTEST) -n $(REST_WORKERS) -m "not browser" $(PYTEST_ARGS)

## The web benchmark (README, "Performance"); run by hand, not part of `make test`
bench: $(STAMP) wrk
	$(BIN)/python -m devtools.bench.web $(BENCH_ARGS)

# The benchmark's load generator, written in C so it does not eat the panel's CPU.
wrk:
	command -v wrk >/dev/null || { $(APT_INSTALL) wrk; }

## Regenerate adminpanel/pymap/generated from protos/ (arguments in protos/protoc-args)
protos: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc @protos/protoc-args

clean:
	rm -rf $(VENV) .venv-pymap var .mypy_cache .ruff_cache .pytest_cache
