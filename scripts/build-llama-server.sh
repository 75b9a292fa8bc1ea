#!/bin/sh
# Builds llama.cpp's llama-server once into .llama/ for the remote-backend tests, from the llama.cpp
# tree vendored in the llama-cpp-python 0.3.36 source distribution on PyPI (checked by sha256).
# SEEDFLOW_LLAMA_SERVER=/path/to/llama-server uses an existing binary instead.
# LLAMA_CONFIGURE_ONLY=1 stops after cmake's configure step.
set -eu

VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
DIR=.llama
SDIST="$DIR/download/llama_cpp_python-$VERSION.tar.gz"
SRC="$DIR/src/llama_cpp_python-$VERSION/vendor/llama.cpp"
BUILD="$DIR/build"
BIN="$BUILD/bin/llama-server"

if [ -n "${SEEDFLOW_LLAMA_SERVER:-}" ]; then
  if [ -x "$SEEDFLOW_LLAMA_SERVER" ]; then exit 0; fi
  echo "SEEDFLOW_LLAMA_SERVER=$SEEDFLOW_LLAMA_SERVER is not an executable file: point it at a llama-server binary, or unset it to build one" >&2
  exit 1
fi
[ -x "$BIN" ] && exit 0

sudo_or_fail() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "building llama-server needs '$*', and this user can neither run it nor use sudo" >&2; exit 1
  fi
}
if ! command -v cmake >/dev/null 2>&1 || ! command -v c++ >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
  echo "Installing cmake, a C++ compiler and pip for the llama-server build"
  sudo_or_fail apt-get update
  sudo_or_fail apt-get install -y cmake g++ python3-pip
fi

if [ ! -f "$SDIST" ] || ! echo "$SHA256  $SDIST" | sha256sum -c --status; then
  rm -rf "$DIR/download" "$DIR/pydeps"
  mkdir -p "$DIR/download" "$DIR/pydeps"
  # pip reads an sdist's metadata with its build backend; scikit-build-core installed beside it
  # and --no-build-isolation keep pip from building cmake from source for that.
  python3 -m pip install --quiet --root-user-action=ignore --target "$DIR/pydeps" scikit-build-core
  PYTHONPATH="$PWD/$DIR/pydeps" python3 -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation \
    -d "$DIR/download" "llama-cpp-python==$VERSION"
  if ! echo "$SHA256  $SDIST" | sha256sum -c --status; then
    echo "$SDIST does not have the expected sha256 $SHA256: refusing to build it (delete $DIR and retry)" >&2
    exit 1
  fi
fi
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
