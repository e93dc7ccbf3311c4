"""One request, from the home and the user's words to the prompt, and from the model's text
to the calls that may run. The integration and training/evaluate_model.py both go through these
two functions, so what is measured is what runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .chat_templates import Turn, render_chat, stop_strings
from .grammar import build_grammar
from .home import Home, ServiceCall
from .prompt import DEFAULT_ATTRIBUTES, DEFAULT_PRESET, PRESETS, render_system_prompt, render_turns
from .relevance import related_devices
from .reply import ParsedReply, parse_reply
from .validation import Rejection, validate_calls


@dataclass(frozen=True)
class ModelRequest:
    prompt: str  # chat-templated, ending where the assistant's reply starts
    grammar: str | None  # GBNF, or None when grammar is off
    stop: tuple[str, ...]
    calls_only: bool = False  # the v2 format: calls alone or one sentence
    related: frozenset[str] = frozenset()  # entity ids the request points at (relevance.related_devices)
    text: str = ""  # the user's words
    user_area: str | None = None  # the speaker's area (the satellite's), if known
    earlier: tuple[str, ...] = ()  # the user's earlier turns in this conversation


@dataclass(frozen=True)
class Interpretation:
    parsed: ParsedReply
    calls: list[ServiceCall]  # validated: these may run
    rejected: list[Rejection]


def build_request(
    home: Home,
    text: str,
    *,
    now: datetime,
    chat_template: str,
    gguf_chat_template: str | None = None,
    preset: str = DEFAULT_PRESET,
    user_area: str | None = None,
    examples: int = 0,
    history: Sequence[Turn] = (),
    attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES,
    use_grammar: bool = True,
) -> ModelRequest:
    chosen = PRESETS[preset]
    system = render_system_prompt(home, now=now, preset=preset, user_area=user_area, attributes=attributes)
    turns = render_turns(text, home=home, examples=examples, history=history, calls_only=chosen.calls_only)
    return ModelRequest(
        prompt=render_chat(chat_template, system, turns, gguf_chat_template),
        grammar=build_grammar(home, compat=chosen.compat, calls_only=chosen.calls_only) if use_grammar else None,
        stop=stop_strings(chat_template),
        calls_only=chosen.calls_only,
        # Only the v2 format with its grammar checks its calls against these (generation.py).
        related=related_devices(home, text, user_area=user_area, history=[said for _, said in history])
        if chosen.calls_only and use_grammar
        else frozenset(),
        text=text,
        user_area=user_area,
        earlier=tuple(said for role, said in history if role == "user"),
    )


def interpret_reply(home: Home, text: str) -> Interpretation:
    parsed = parse_reply(text)
    calls, rejected = validate_calls(home, parsed.calls)
    return Interpretation(parsed, calls, rejected)
