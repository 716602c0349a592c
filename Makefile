# Two commands matter: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint format messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	if command -v npm >/dev/null; then npm ci --prefix tests/browser/axe --no-audit --no-fund --loglevel=error; else echo "no npm: the accessibility tests will skip (apt-get install npm)"; fi
	touch $(STAMP)

install: $(STAMP)

run: install  ## migrate, load demo data once, start the Stripe sandbox, serve on :5000
	$(BIN)/python -m membership.devserver

test: install  ## the whole suite; SQLite unless TEST_DATABASE_URL names PostgreSQL
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install  ## benchmarks: figures and ratios, never a failure on a number
	$(BIN)/python -m benchmarks

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install  ## extract translatable strings to translations/messages.pot
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
