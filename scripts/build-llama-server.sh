#!/bin/sh
# Builds llama.cpp's llama-server once into .llama/ for the remote-backend tests, from the llama.cpp
# tree vendored in the llama-cpp-python 0.3.36 source distribution on PyPI (checked by sha256).
# SEEDFLOW_LLAMA_SERVER=/path/to/llama-server uses an existing binary instead.
# LLAMA_CONFIGURE_ONLY=1 stops after cmake's configure step.
set -eu

VERSION=0.3.36
DIR=.llama
SRC="$DIR/src/llama_cpp_python-$VERSION/vendor/llama.cpp"
BUILD="$DIR/build"
BIN="$BUILD/bin/llama-server"

if [ -n "${SEEDFLOW_LLAMA_SERVER:-}" ]; then
  if [ -x "$SEEDFLOW_LLAMA_SERVER" ]; then exit 0; fi
  echo "SEEDFLOW_LLAMA_SERVER=$SEEDFLOW_LLAMA_SERVER is not an executable file: point it at a llama-server binary, or unset it to build one" >&2
  exit 1
fi
[ -x "$BIN" ] && exit 0

if ! command -v cmake >/dev/null 2>&1 || ! command -v c++ >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
  sh "$(dirname "$0")/apt-install.sh" "the llama-server build" cmake g++ python3-pip
fi

SDIST=$(sh "$(dirname "$0")/fetch-llama-sdist.sh")
if [ ! -f "$SRC/CMakeLists.txt" ]; then
  rm -rf "$DIR/src"
  mkdir -p "$DIR/src"
  tar -xzf "$SDIST" -C "$DIR/src"
fi

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON >"$DIR/configure.log" 2>&1 \
  || { echo "configuring llama.cpp failed; see $DIR/configure.log" >&2; exit 1; }
[ -n "${LLAMA_CONFIGURE_ONLY:-}" ] && exit 0
echo "Building llama-server (once, a few minutes)"
cmake --build "$BUILD" --target llama-server -j "$(nproc)" >"$DIR/build.log" 2>&1 \
  || { echo "building llama-server failed; see $DIR/build.log" >&2; exit 1; }
echo "llama-server built: $BIN"
