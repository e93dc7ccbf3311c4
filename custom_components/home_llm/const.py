"""Constants for Home LLM: config keys, and the options a new agent starts with (the values
themselves are in home_llm_core.defaults, which the evaluator shares)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .home_llm_core.defaults import (
    BUNDLED_IN_CONTEXT_EXAMPLES,
    BUNDLED_PRESET,
    DEFAULT_IN_CONTEXT_EXAMPLES,
    DEFAULT_MAX_TOKENS,
    DEFAULT_REMEMBER_TURNS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_K,
    DEFAULT_TOP_P,
    DEFAULT_USE_GRAMMAR,
)
from .home_llm_core.home_format import DEFAULT_ATTRIBUTES, DEFAULT_PRESET

DOMAIN = "home_llm"
LOGGER = logging.getLogger(__package__)

# Config entry (one per model file)
CONF_MODEL_SOURCE = "model_source"
SOURCE_BUNDLED = "bundled"
CONF_BUNDLED_MODEL = "bundled_model"  # defaults.BUNDLED_270M; absent: Home LLM 135M
SOURCE_LOCAL_FILE = "local_file"
SOURCE_HUGGINGFACE = "huggingface"
CONF_MODEL_PATH = "model_path"
CONF_LORA_PATH = "lora_path"  # optional LoRA adapter GGUF on top of a local model
CONF_REPO_ID = "repo_id"
CONF_QUANTIZATION = "quantization"
CONF_FILENAME = "filename"
# A model on an inference server (home_llm_core/remote_engine.py)
SOURCE_REMOTE = "remote"
CONF_API = "api"  # remote_engine.API_OPENAI or API_OLLAMA
CONF_URL = "url"
CONF_API_KEY = "api_key"
CONF_MODEL = "model"
CONF_VERIFY_SSL = "verify_ssl"
CONF_GRAMMAR_FIELD = "grammar_field"  # where an OpenAI-compatible server takes the grammar
# A remote model's file can't be read for its template: ChatML suits most small instruct models.
DEFAULT_REMOTE_CHAT_TEMPLATE = "chatml"

# Config entry options (how the model is loaded)
CONF_CHAT_TEMPLATE = "chat_template"
CHAT_TEMPLATE_AUTO = "auto"
CONF_CONTEXT_LENGTH = "context_length"
CONF_THREADS = "threads"
CONF_MERGE_ADAPTER = "merge_adapter"  # run base + LoRA adapter as one merged Q8_0 file

# Conversation subentry (one per agent)
SUBENTRY_CONVERSATION = "conversation"
CONF_PROMPT_PRESET = "prompt_preset"
CONF_TEMPERATURE = "temperature"
CONF_TOP_P = "top_p"
CONF_TOP_K = "top_k"
CONF_MAX_TOKENS = "max_tokens"
CONF_IN_CONTEXT_EXAMPLES = "in_context_examples"
CONF_EXTRA_ATTRIBUTES = "extra_attributes"
CONF_USE_GRAMMAR = "use_grammar"
CONF_REMEMBER_TURNS = "remember_turns"
CONF_CONFIRM_RISKY_ACTIONS = "confirm_risky_actions"  # unlock, open a garage door or gate, disarm: ask first

# AI task subentry (one per AI task entity: ai_task.py)
SUBENTRY_AI_TASK = "ai_task_data"  # the subentry type Home Assistant's core integrations use
DEFAULT_AI_TASK_NAME = "Home LLM AI Task"
DEFAULT_AI_TASK_OPTIONS: dict[str, Any] = {CONF_TEMPERATURE: DEFAULT_TEMPERATURE}
# An answer's token budget: room for a paragraph, or a JSON object of a few fields with texts.
AI_TASK_MAX_TOKENS = 512

DEFAULT_AGENT_NAME = "Home LLM"
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
    CONF_CONFIRM_RISKY_ACTIONS: True,
}

# What an agent of the bundled model starts with: the format Home LLM v2 was trained on.
BUNDLED_AGENT_OPTIONS: dict[str, Any] = {
    **DEFAULT_AGENT_OPTIONS,
    CONF_PROMPT_PRESET: BUNDLED_PRESET,
    CONF_IN_CONTEXT_EXAMPLES: BUNDLED_IN_CONTEXT_EXAMPLES,
}


def agent_defaults(entry_data: Mapping[str, Any]) -> dict[str, Any]:
    """The options a new agent of this model's config entry starts with."""
    return dict(BUNDLED_AGENT_OPTIONS if entry_data.get(CONF_MODEL_SOURCE) == SOURCE_BUNDLED else DEFAULT_AGENT_OPTIONS)


DEFAULT_QUANTIZATION = "Q4_K_M"
MODELS_DIR = "home_llm/models"  # under the HA config dir, for downloads
