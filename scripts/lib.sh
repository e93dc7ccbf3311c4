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
