# seedflow — `make demo` to see it run, `make test` to check it.
# Both install the system libraries first when they are missing (libyaml, OpenBLAS, pkg-config).

SWIFT        ?= swift
APT_PACKAGES := libyaml-dev libopenblas-dev pkg-config
SEEDFLOW     := .build/release/seedflow

.PHONY: all build test demo deps chromium clean

all: build

# Instant when the libraries are there: pkg-config answers from its own files.
deps:
	@if pkg-config --exists openblas yaml-0.1 2>/dev/null; then exit 0; fi; \
	echo "Installing system packages: $(APT_PACKAGES)"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; \
	else \
	  echo "seedflow needs $(APT_PACKAGES), and this user can neither install them nor use sudo."; \
	  echo "Run as root:  apt-get update && apt-get install -y $(APT_PACKAGES)"; \
	  exit 1; \
	fi; \
	if ! { $$SUDO apt-get update && $$SUDO apt-get install -y $(APT_PACKAGES); }; then \
	  echo "Installing failed. Run:  sudo apt-get update && sudo apt-get install -y $(APT_PACKAGES)"; \
	  exit 1; \
	fi; \
	pkg-config --exists openblas yaml-0.1 || { echo "pkg-config still finds no openblas or yaml-0.1"; exit 1; }

# The report's browser test opens pages in headless Chromium (Debian's chromium), for the tests
# only: installed once, when missing, as the libraries above are.
chromium:
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	echo "Installing Debian's chromium for the report's browser test"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; \
	else \
	  echo "The report test needs chromium, and this user can neither install it nor use sudo."; \
	  echo "Run as root:  apt-get update && apt-get install -y chromium"; \
	  exit 1; \
	fi; \
	if ! { $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; then \
	  echo "Installing failed. Run:  sudo apt-get update && sudo apt-get install -y chromium"; \
	  exit 1; \
	fi; \
	command -v chromium >/dev/null 2>&1 || { echo "chromium is still not on PATH"; exit 1; }

build: deps
	$(SWIFT) build -c release

# Release: the numeric tests are far too slow in a debug build. -enable-testing lets the tests
# reach internal symbols of a release build. The CLI tests run the seedflow binary this builds.
test: deps chromium
	$(SWIFT) build -c release -Xswiftc -enable-testing --build-tests
	$(SWIFT) test -c release -Xswiftc -enable-testing --skip-build

# The default workflow on the bundled demo models: Game of 24 by tree-of-thoughts search with
# scheduled speculative decoding, on the first 10 held-out puzzles; then the summary and one tree.
demo: build
	$(SEEDFLOW) run workflows/game24.yaml --limit 10 --results runs/demo.jsonl --overwrite --show-tree

clean:
	$(SWIFT) package clean
