"""The options a new conversation agent starts with (kept apart from const.py, which
training/evaluate.py loads on its own and so imports nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .const import (
    CONF_EXTRA_ATTRIBUTES,
    CONF_IN_CONTEXT_EXAMPLES,
    CONF_LORA_PATH,
    CONF_MAX_TOKENS,
    CONF_MODEL_SOURCE,
    CONF_PROMPT_PRESET,
    CONF_REMEMBER_TURNS,
    CONF_TEMPERATURE,
    CONF_TOP_K,
    CONF_TOP_P,
    CONF_USE_GRAMMAR,
    DEFAULT_IN_CONTEXT_EXAMPLES,
    DEFAULT_MAX_TOKENS,
    DEFAULT_REMEMBER_TURNS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_K,
    DEFAULT_TOP_P,
    DEFAULT_USE_GRAMMAR,
    SOURCE_BUNDLED,
    TUNED_IN_CONTEXT_EXAMPLES,
)
from .home_format import DEFAULT_ATTRIBUTES, DEFAULT_PRESET

DEFAULT_AGENT_OPTIONS: dict[str, Any] = {
    CONF_PROMPT_PRESET: DEFAULT_PRESET,
    CONF_TEMPERATURE: DEFAULT_TEMPERATURE,
    CONF_TOP_P: DEFAULT_TOP_P,
    CONF_TOP_K: DEFAULT_TOP_K,
    CONF_MAX_TOKENS: DEFAULT_MAX_TOKENS,
    CONF_IN_CONTEXT_EXAMPLES: DEFAULT_IN_CONTEXT_EXAMPLES,
    CONF_EXTRA_ATTRIBUTES: list(DEFAULT_ATTRIBUTES),
    CONF_USE_GRAMMAR: DEFAULT_USE_GRAMMAR,
    CONF_REMEMBER_TURNS: DEFAULT_REMEMBER_TURNS,
}


def agent_defaults(entry_data: Mapping[str, Any]) -> dict[str, Any]:
    """A new agent's options for this config entry's model: a model with one of our adapters
    (the bundled one, or one trained with training/train.py) needs no in-context examples."""
    options = dict(DEFAULT_AGENT_OPTIONS)
    if entry_data.get(CONF_MODEL_SOURCE) == SOURCE_BUNDLED or entry_data.get(CONF_LORA_PATH):
        options[CONF_IN_CONTEXT_EXAMPLES] = TUNED_IN_CONTEXT_EXAMPLES
    return options
