# Helpers shared by scripts/bootstrap*.sh and scripts/demo (sourced, not run).

# True when as_root can run a command: we are root, or sudo works without a password prompt.
can_be_root() { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }

# Runs a command as root, directly or through `sudo -n` (it never waits for a password).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Installs Debian packages quietly; the package lists are refreshed only if the first try fails.
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

# Installs Home LLM's own packages (home_llm_core, homegen, training: pyproject.toml) editable
# into the venv of interpreter $1, unless they are there already for this checkout.
install_home_llm_packages() {
  "$1" - "$REPO_ROOT" >/dev/null 2>&1 <<'PY' && return 0
import sys
from pathlib import Path

import home_llm_core, homegen, training

root = Path(sys.argv[1]).resolve()
assert all(Path(m.__file__).resolve().is_relative_to(root) for m in (home_llm_core, homegen, training))
PY
  printf '\033[1m[home-llm]\033[0m %s\n' "installing Home LLM's own packages (editable) into $(dirname "$(dirname "$1")")" >&2
  # Quiet unless it fails: setuptools warns about every editable install.
  "$1" -m pip install -q --no-deps -e "$REPO_ROOT" >/dev/null 2>&1 || "$1" -m pip install --no-deps -e "$REPO_ROOT"
}

# llama.cpp's build arguments for this CPU. Left to itself llama.cpp builds for the CPU it is built
# on (GGML_NATIVE), AMX included where the CPU reports it; on a Xeon VM whose CPU reports AMX the
# first decode then crashed (SIGSEGV). On x86-64 the instruction sets are named instead, from the
# flags in $1 (default /proc/cpuinfo), without AMX.
llama_cpp_cmake_args() {
  [ "$(uname -m)" = x86_64 ] || return 0
  local flags args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" pair
  flags=" $(grep -m1 '^flags' "${1:-/proc/cpuinfo}" 2>/dev/null | cut -d: -f2 || true) "
  for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx512f:AVX512 avx512vbmi:AVX512_VBMI \
              avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    case "$flags" in
      *" ${pair%%:*} "*) args+=" -DGGML_${pair#*:}=ON" ;;
      *) args+=" -DGGML_${pair#*:}=OFF" ;;
    esac
  done
  echo "$args"
}

llama_cpp_version() { sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' "$REPO_ROOT/requirements_test.txt"; }

# Where our llama-cpp-python wheel for interpreter $1 and $CMAKE_ARGS lives. pip's own wheel cache
# is keyed by the source archive alone: it hands back a build made earlier with other CMAKE_ARGS,
# maybe for another CPU (CI then crashed in llama.cpp's decode). Ours is keyed by the version, the
# arguments and the interpreter.
llama_cpp_wheel_dir() {
  local key
  key="$(printf '%s\n%s\n%s\n' "$(llama_cpp_version)" "${CMAKE_ARGS:-}" "$("$1" -VV)" | sha256sum | cut -c1-16)"
  echo "$CACHE_DIR/wheels/llama-cpp-python-$(llama_cpp_version)-$key"
}

# Builds that wheel for interpreter $1 with the venv interpreter $2, unless it is there already.
build_llama_cpp_wheel() {
  local dir; dir="$(llama_cpp_wheel_dir "$1")"
  ls "$dir"/llama_cpp_python-*.whl >/dev/null 2>&1 && return 0
  printf '\033[1m[home-llm]\033[0m %s\n' "building llama-cpp-python (about 5 minutes) with CMAKE_ARGS=${CMAKE_ARGS:-}" >&2
  rm -rf "$dir.tmp"
  "$2" -m pip wheel -q --no-deps --no-cache-dir -w "$dir.tmp" "llama-cpp-python==$(llama_cpp_version)" >&2
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}
