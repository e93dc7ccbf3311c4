"""The browser test drives the real demo (scripts/demo) in Debian's Chromium. It needs what
scripts/test --browser installs, so plain `pytest` leaves it out."""

import os

if os.environ.get("HOME_LLM_BROWSER_TEST") != "1":
    collect_ignore_glob = ["test_*.py"]

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Overrides tests/conftest.py's: this test talks to the demo's own Home Assistant process."""
