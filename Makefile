# Two commands set everything up on a fresh machine:
#   make run    Label Studio + the workbench, with the sample article ingested and pushed
#   make test   every test, against a real Label Studio (and PostgreSQL when WORKBENCH_TEST_DATABASE_URL is set)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: venv run test test-fast check check-wheel label-studio-start label-studio-stop lint bench clean

$(BIN)/workbench: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[test,dev,bench]'
	touch $(BIN)/workbench

venv: $(BIN)/workbench

run: venv
	VENV=$(VENV) scripts/run.sh

test: venv
	VENV=$(VENV) scripts/test.sh

# Unit and API tests only (no Label Studio, no wheel build), on SQLite.
test-fast: venv
	$(BIN)/pytest -q -m "not labelstudio and not wheel"

# The package as it ships: build the wheel, install it in a fresh virtualenv outside the
# checkout, migrate, ingest, export and serve with it (tests/test_wheel.py runs this too).
check-wheel: venv
	VENV=$(VENV) scripts/check-wheel

label-studio-start:
	scripts/label-studio start

label-studio-stop:
	scripts/label-studio stop

lint: venv
	$(BIN)/ruff check workbench tests bench

# The quality gate CI runs before the tests: lint, formatting, types (strict on extraction, the
# audit chain and the error types; see [tool.mypy] in pyproject.toml), and the models against
# the migrations (tests/test_migrations_match_models.py, on SQLite here; PostgreSQL in make test).
check: venv
	$(BIN)/ruff check workbench tests bench
	$(BIN)/ruff format --check workbench tests bench migrations
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider tests/test_migrations_match_models.py

bench: venv
	$(BIN)/python bench/extraction.py
	VENV=$(VENV) scripts/bench-push.sh

clean:
	rm -rf $(VENV) instance .pytest_cache
