#!/usr/bin/env bash
# Prepares the training environment, idempotently, separate from Home Assistant's:
#   1. llama.cpp's converters (convert_hf_to_gguf.py, convert_lora_to_gguf.py, gguf-py) from the
#      llama-cpp-python 0.3.36 source archive -- the llama.cpp the integration runs -- unpacked once
#      into ~/.cache/home-llm/llama.cpp-0.3.36 (not into the repo),
#   2. the virtual environment .venv-training: Python 3.11 with torch, transformers, peft, accelerate
#      and the converters' needs (training/requirements.txt), plus gguf-py from those sources.
# Run it directly, or source it (scripts/test does); afterwards $TRAIN_PY is the interpreter to use.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${HOME_LLM_CACHE:-$HOME/.cache/home-llm}"
TRAIN_VENV="${HOME_LLM_TRAINING_VENV:-$REPO_ROOT/.venv-training}"
LLAMA_CPP_PYTHON_VERSION=0.3.36
LLAMA_CPP_PYTHON_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
CONVERTERS="$CACHE_DIR/llama.cpp-$LLAMA_CPP_PYTHON_VERSION"
mkdir -p "$CACHE_DIR"
# shellcheck source=lib.sh
source "$REPO_ROOT/scripts/lib.sh"

tlog() { printf '\033[1m[home-llm training]\033[0m %s\n' "$*" >&2; }

training_python_ok() {  # torch 2.13's CPU wheels need CPython 3.10-3.12; 3.11 is the one tested
  "$1" -c 'import sys, venv; assert (3, 10) <= sys.version_info[:2] <= (3, 12)' >/dev/null 2>&1
}

find_training_python() {
  local c
  for c in "${HOME_LLM_TRAINING_PYTHON:-}" "$(command -v python3.11 || true)" "$HOME"/.pyenv/versions/3.11.*/bin/python3 \
           "$(command -v python3.12 || true)" "$(command -v python3.10 || true)" "$(command -v python3 || true)"; do
    [ -n "$c" ] && [ -x "$c" ] && training_python_ok "$c" && { echo "$c"; return 0; }
  done
  return 1
}

TRAIN_PYTHON="$(find_training_python || true)"
if [ -z "$TRAIN_PYTHON" ]; then
  tlog "training needs Python 3.11 (3.10-3.12 work); install it (pyenv, or your distribution's python3.11) or set HOME_LLM_TRAINING_PYTHON"
  exit 1
fi

# Rebuild the venv only when its interpreter, the requirements or the converters' version changed.
train_stamp() { cat "$REPO_ROOT/training/requirements.txt"; "$TRAIN_PYTHON" -VV; echo "$LLAMA_CPP_PYTHON_SHA256"; }
train_want="$(train_stamp | sha256sum | cut -d' ' -f1)"
if [ ! -f "$TRAIN_VENV/.home-llm-stamp" ] || [ "$(cat "$TRAIN_VENV/.home-llm-stamp")" != "$train_want" ] \
   || [ ! -f "$CONVERTERS/.complete" ]; then
  [ -x "$TRAIN_VENV/bin/python" ] || "$TRAIN_PYTHON" -m venv "$TRAIN_VENV"
  "$TRAIN_VENV/bin/python" -m pip install -q --upgrade pip

  if [ ! -f "$CONVERTERS/.complete" ]; then
    tlog "fetching llama.cpp's converters from the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sources into $CONVERTERS"
    work="$(mktemp -d)"
    echo "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION --hash=sha256:$LLAMA_CPP_PYTHON_SHA256" > "$work/req.txt"
    "$TRAIN_VENV/bin/python" -m pip download -q --no-deps --no-binary :all: -r "$work/req.txt" -d "$work"
    src="llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
    tar -xzf "$work/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz" -C "$work" \
      "$src/convert_hf_to_gguf.py" "$src/convert_lora_to_gguf.py" "$src/conversion" "$src/gguf-py" \
      "$src/models/templates" "$src/requirements" "$src/LICENSE"
    rm -rf "$CONVERTERS" && mkdir -p "$(dirname "$CONVERTERS")"
    mv "$work/$src" "$CONVERTERS"
    touch "$CONVERTERS/.complete"
    rm -rf "$work"
  fi

  tlog "installing torch, transformers, peft and llama.cpp's gguf-py into $TRAIN_VENV (first time: ~1 minute)"
  "$TRAIN_VENV/bin/python" -m pip install -q -r "$REPO_ROOT/training/requirements.txt"
  "$TRAIN_VENV/bin/python" -m pip install -q "$CONVERTERS/gguf-py"
  echo "$train_want" > "$TRAIN_VENV/.home-llm-stamp"
fi
install_home_llm_packages "$TRAIN_VENV/bin/python"
TRAIN_PY="$TRAIN_VENV/bin/python"
export TRAIN_PY
