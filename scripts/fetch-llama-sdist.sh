#!/bin/sh
# Downloads the llama-cpp-python 0.3.36 source distribution from PyPI once, checked by sha256, into
# .llama/download/ (the llama.cpp tree it vendors builds llama-server and holds llama.cpp's
# vocabulary test files), and prints its path. Both scripts that need it call this one.
set -eu

VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR="$ROOT/.llama/download"
SDIST="$DIR/llama_cpp_python-$VERSION.tar.gz"
PYTHON=${PYTHON:-python3}

if [ -f "$SDIST" ] && echo "$SHA256  $SDIST" | sha256sum -c --status; then
    echo "$SDIST"
    exit 0
fi
"$PYTHON" -m pip --version >/dev/null 2>&1 || {
    echo "pip is not available for $PYTHON (apt-get install python3-pip), needed to download llama-cpp-python==$VERSION" >&2
    exit 1
}
rm -rf "$DIR"
mkdir -p "$DIR/pydeps"
echo "Downloading llama-cpp-python==$VERSION (source) from PyPI" >&2
# pip reads an sdist's metadata with its build backend; scikit-build-core installed beside it and
# --no-build-isolation keep pip from building cmake from source just for that.
"$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$DIR/pydeps" scikit-build-core >&2 || {
    echo "pip install scikit-build-core (needed to download llama-cpp-python==$VERSION) failed" >&2
    exit 1
}
PYTHONPATH="$DIR/pydeps" "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary :all: --no-build-isolation -d "$DIR" "llama-cpp-python==$VERSION" >&2 || {
    echo "pip download llama-cpp-python==$VERSION failed; fetch it by hand with: pip download --no-deps --no-binary :all: --no-build-isolation llama-cpp-python==$VERSION (after pip install scikit-build-core), into $DIR" >&2
    exit 1
}
if ! echo "$SHA256  $SDIST" | sha256sum -c --status; then
    echo "$SDIST does not have the expected sha256 $SHA256: refusing it (delete $DIR and retry)" >&2
    exit 1
fi
echo "$SDIST"
