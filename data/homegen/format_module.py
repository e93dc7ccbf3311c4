# ruff: noqa: E402
"""The integration's format module (custom_components/home_llm/home_format), imported without
Home Assistant. Everything the generator writes is rendered and checked by it; nothing here
may copy one of its format strings. (Its imports follow the sys.path set-up, hence E402.)"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
_PACKAGE_PARENT = REPO_ROOT / "custom_components" / "home_llm"
if str(_PACKAGE_PARENT) not in sys.path:
    sys.path.insert(0, str(_PACKAGE_PARENT))

import home_format
from home_format import (
    Entity,
    Home,
    ModelCall,
    ServiceCall,
    in_prompt_order,
    render_reply,
    render_system_prompt,
    render_turns,
    to_model_call,
    validate_calls,
)
from home_format.colors import COLORS
from home_format.services import services_for

__all__ = [
    "COLORS",
    "Entity",
    "Home",
    "ModelCall",
    "ServiceCall",
    "home_format",
    "in_prompt_order",
    "render_reply",
    "render_system_prompt",
    "render_turns",
    "services_for",
    "to_model_call",
    "validate_calls",
]
