# Two commands: `make demo` and `make test`. Everything runs from the repo's own .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) example_site/manage.py
STAMP := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres bench lint format clean install messages

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PIP) install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) journeys_demo
	@echo "Starting the site on http://localhost:8000 and a qcluster worker (Ctrl-C stops both)"
	@trap 'kill 0' INT TERM EXIT; \
	$(MANAGE) qcluster & \
	$(MANAGE) runserver 127.0.0.1:8000

# The whole suite on SQLite and, at once, its database-sensitive tests on PostgreSQL (POSTGRES_PASS
# in tests/run.py). PostgreSQL and Redis parts run when reachable; required when
# JOURNEYS_REQUIRE_SERVICES=1. See tests/run.py and tests/conftest.py.
test: $(STAMP)
	$(PY) -m ruff check wagtail_journeys example_site tests benchmarks
	$(PY) -m ruff format --check wagtail_journeys example_site tests benchmarks
	$(PY) tests/run.py

bench: $(STAMP)
	$(PY) benchmarks/run.py

lint: $(STAMP)
	$(PY) -m ruff check wagtail_journeys example_site tests benchmarks
	$(PY) -m ruff format --check wagtail_journeys example_site tests benchmarks

format: $(STAMP)
	$(PY) -m ruff check --fix wagtail_journeys example_site tests benchmarks
	$(PY) -m ruff format wagtail_journeys example_site tests benchmarks

# Translations: collect the app's strings into every shipped catalog (new ones come in with
# an empty msgstr to translate), then compile the .mo files the wheel ships. Needs GNU gettext.
messages: $(STAMP)
	cd wagtail_journeys && DJANGO_SETTINGS_MODULE= $(abspath $(PY)) -m django makemessages --all --add-location file
	cd wagtail_journeys && DJANGO_SETTINGS_MODULE= $(abspath $(PY)) -m django compilemessages

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache example_site/db.sqlite3*
