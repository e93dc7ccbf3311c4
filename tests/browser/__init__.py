"""Tests of the demo as a person sees it (scripts/test --browser)."""
