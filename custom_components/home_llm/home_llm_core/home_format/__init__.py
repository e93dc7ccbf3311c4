"""The Home format: the one source of truth for the prompt the model reads, the reply it
writes, the grammar that constrains it and the validation that guards what runs.

It imports nothing from Home Assistant: the integration, data/ and training/ all use it
(the tooling as ``home_llm_core.home_format``; see home_llm_core's docstring).
"""

from .chat_templates import GGUF_TEMPLATE, TEMPLATES, detect_template, render_chat, stop_strings
from .grammar import build_grammar
from .home import Entity, Home, ServiceCall, in_prompt_order
from .pipeline import Interpretation, ModelRequest, build_request, interpret_reply
from .prompt import DEFAULT_ATTRIBUTES, DEFAULT_PERSONA, DEFAULT_PRESET, PRESETS, render_system_prompt, render_turns
from .reply import ModelCall, ParsedReply, parse_reply, render_reply
from .services import SERVICES, SUPPORTED_DOMAINS
from .validation import Rejection, find_target, to_model_call, validate_calls

__all__ = [
    "DEFAULT_ATTRIBUTES",
    "DEFAULT_PERSONA",
    "DEFAULT_PRESET",
    "GGUF_TEMPLATE",
    "PRESETS",
    "SERVICES",
    "SUPPORTED_DOMAINS",
    "TEMPLATES",
    "Entity",
    "Home",
    "Interpretation",
    "ModelCall",
    "ModelRequest",
    "ParsedReply",
    "Rejection",
    "ServiceCall",
    "build_grammar",
    "build_request",
    "detect_template",
    "find_target",
    "in_prompt_order",
    "interpret_reply",
    "parse_reply",
    "render_chat",
    "render_reply",
    "render_system_prompt",
    "render_turns",
    "stop_strings",
    "to_model_call",
    "validate_calls",
]
