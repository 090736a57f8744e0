# Two commands do everything on a fresh machine with Python 3.11 (see README.md):
#   make run    install, create the SQLite database, seed demo data, start on http://127.0.0.1:5000
#   make test   install, then run every test on SQLite and on PostgreSQL, browser tests included
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# E-mailed links point at the address `make run` serves: on another HOST or PORT (make run
# PORT=8080) BASE_URL follows them, unless it is set; at the default address the environment
# or a .env file decide.
ifneq ($(HOST):$(PORT),127.0.0.1:5000)
BASE_URL ?= http://$(HOST):$(PORT)
endif
RUN_ENV := APP_ENV=development$(if $(BASE_URL), BASE_URL=$(BASE_URL))

.PHONY: run test test-sqlite test-postgres install system-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	APP_ENV=development $(BIN)/flask --app app db upgrade
	$(RUN_ENV) $(BIN)/flask --app app demo
	@echo ""
	@echo "  Sistema de O.S. em http://$(HOST):$(PORT)  (e-mails em http://$(HOST):$(PORT)/dev/mail)"
	@echo ""
	$(RUN_ENV) $(BIN)/flask --app app run --host $(HOST) --port $(PORT)

system-packages:
	@bash .ci/system-packages

test: install system-packages
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: install
	@echo "== tests on SQLite =="
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install
	@echo "== tests on PostgreSQL =="
	bash tests/with-postgres $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
