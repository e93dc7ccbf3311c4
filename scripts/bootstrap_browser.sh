#!/usr/bin/env bash
# Prepares the browser test (scripts/test --browser), idempotently: Debian's Chromium, which
# Playwright drives (its own browser download is not used). Playwright itself comes with
# requirements_test.txt; what the demo's Home Assistant needs, scripts/demo installs. Sourced
# after scripts/bootstrap.sh (which also brings scripts/lib.sh); afterwards $HOME_LLM_CHROMIUM is the browser to use.
set -euo pipefail

blog() { printf '\033[1m[home-llm browser]\033[0m %s\n' "$*" >&2; }

HOME_LLM_CHROMIUM="${HOME_LLM_CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$HOME_LLM_CHROMIUM" ]; then
  can_be_root || { blog "Chromium is missing: install Debian's chromium package (apt-get install chromium) or set HOME_LLM_CHROMIUM"; exit 1; }
  blog "installing Debian's Chromium for the browser test (about a minute)"
  apt_install chromium
  HOME_LLM_CHROMIUM="$(command -v chromium)"
fi
export HOME_LLM_CHROMIUM
