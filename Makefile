# Two commands: `make demo` and `make test`. Everything runs from the repo's own .venv.
# `make demo` installs the app alone; `make test` adds the test extras.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) example_site/manage.py
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# `make demo PORT=8001` serves the demo on another port.
PORT ?= 8000
# The demo's mail: one file per message in example_site/sent_mail/ (the console backend
# would fill the terminal with HTML). Also listed in the admin under Marketing › Messages.
DEMO_EMAIL_BACKEND ?= django.core.mail.backends.filebased.EmailBackend

.PHONY: demo test test-sqlite test-postgres bench lint format clean install messages

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PIP) install --quiet -e ".[test]"
	touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): $(PY) pyproject.toml
	$(PIP) install --quiet -e .
	touch $(DEMO_STAMP)

install: $(STAMP)

# The site and a qcluster worker, run and stopped together by journeys_demo_serve (Ctrl-C:
# one SIGINT to each, as a terminal sends; no shell trap).
demo: export WAGTAILADMIN_BASE_URL = http://localhost:$(PORT)
demo: export DJANGO_EMAIL_BACKEND = $(DEMO_EMAIL_BACKEND)
demo: $(DEMO_STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) journeys_demo
	$(MANAGE) journeys_demo_serve --port $(PORT)

# The whole suite on SQLite and, at once, its database-sensitive tests on PostgreSQL (POSTGRES_PASS
# in tests/run.py). PostgreSQL and Redis parts run when reachable; required when
# JOURNEYS_REQUIRE_SERVICES=1. See tests/run.py and tests/conftest.py.
test: $(STAMP)
	$(PY) -m ruff check wagtail_journeys example_site tests benchmarks
	$(PY) -m ruff format --check wagtail_journeys example_site tests benchmarks
	$(PY) tests/run.py

bench: $(STAMP)
	bash .ci/tools bench
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
	rm -rf $(VENV) build dist *.egg-info .pytest_cache example_site/db.sqlite3* example_site/sent_mail
