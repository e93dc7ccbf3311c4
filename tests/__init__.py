"""Tests for Home LLM."""
