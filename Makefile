# Two commands matter: `make run` and `make test`. Everything else is for developers.
# `make run` installs only what the app needs; test, lint, bench and load add the [dev] extra.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP := $(VENV)/.installed-app
DEV := $(VENV)/.installed-dev
PYTEST_ARGS ?= -n 2
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

.PHONY: install install-dev catalogues run test bench lint load format messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(APP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-compile -e .
	touch $@

$(DEV): pyproject.toml tests/browser/axe/package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev]'
	if command -v npm >/dev/null; then npm ci --prefix tests/browser/axe --no-audit --no-fund --loglevel=error; else echo "no npm: the accessibility tests will skip (apt-get install npm)"; fi
	touch $@ $(APP)

# A catalogue is compiled when its .po is newer than its .mo (.mo files are not in git).
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(BIN)/python
	@echo "compiling the $* catalogue"
	@$(BIN)/pybabel -q compile -d translations -l $*

catalogues: $(CATALOGUES)

install: $(APP)
	@$(MAKE) -s --no-print-directory catalogues

install-dev: $(DEV)
	@$(MAKE) -s --no-print-directory catalogues

run: install  ## migrate, load demo data once, start the Stripe sandbox, serve on :5000
	$(BIN)/python -m membership.devserver

test: install-dev  ## the whole suite; SQLite unless TEST_DATABASE_URL names PostgreSQL
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev  ## benchmarks: figures and ratios, never a failure on a number
	$(BIN)/python -m benchmarks

load: install-dev  ## locust against a local gunicorn + worker + sandbox; prints latencies
	$(BIN)/python -m load

lint: install-dev  ## ruff, bandit, and a dependency audit (skipped when offline)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r membership stripe_sandbox
	$(BIN)/python tools/audit.py

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install  ## extract strings to translations/messages.pot and update every .po
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
