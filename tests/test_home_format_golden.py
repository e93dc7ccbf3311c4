"""Pins the Home format: what the integration renders, the data generator writes and the
evaluator scores. Any drift fails here; after an intended change, regenerate with
`UPDATE_GOLDEN=1 scripts/test tests/test_home_format_golden.py` and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from home_llm_core.home_format import (
    PRESETS,
    build_grammar,
    parse_reply,
    render_chat,
    render_system_prompt,
    render_turns,
    validate_calls,
)

from .fixture_home import FIXTURE_HOME, NOW

GOLDEN = Path(__file__).parent / "golden"

RAW_REPLIES = [
    (
        "turning on the kitchen lights for you now\n```homeassistant\n"
        '{"service": "light.turn_on", "target_device": "light.kitchen"}\n```'
    ),
    'dimming and heating\n```homeassistant\n{"service": "light.turn_on", "target_device": "light.office", "brightness": 0.3}\n'
    '{"service": "climate.set_temperature", "target_device": "climate.hall", "temperature": 22.5}\n```',
    "The garage door is closed.",
    'opening\n```homeassistant\n{"service": "cover.open_cover", "target_device": "cover.garage_door"}',
    "{'service': 'lock.unlock', 'target_device': 'lock.front_door'}",
    (
        '```homeassistant\n{"service": "light.turn_on", "target_device": "light.kitchen", "rgb_color": [0, 0, 255]}'
        '{"service": "fan.turn_on", "target_device": "fan.office"}\n```'
    ),
]


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8"), f"{name} drifted from the golden file"


@pytest.mark.parametrize("preset", ["home_llm", "home_v3", "home_llm_v2"])
def test_system_prompt(preset: str) -> None:
    system = render_system_prompt(FIXTURE_HOME, now=NOW, preset=preset, user_area="Kitchen")
    history = [("user", "is the fan on?"), ("assistant", "No, the Office fan is off.")]
    calls_only = PRESETS[preset].calls_only
    turns = render_turns("turn it on", home=FIXTURE_HOME, examples=3, history=history, calls_only=calls_only)
    _check(f"prompt_{preset}.txt", render_chat("chatml", system, turns))


def test_chat_wrapping() -> None:
    turns = [("user", "turn off the fan"), ("assistant", "Turning off the fan."), ("user", "and the light")]
    text = "\n=====\n".join(render_chat(t, "SYSTEM", turns) for t in ("chatml", "zephyr", "gemma", "llama3"))
    _check("chat_templates.txt", text)


@pytest.mark.parametrize(
    ("name", "compat", "calls_only"), [("home_llm", False, False), ("compat", True, False), ("v2", False, True)]
)
def test_grammar(name: str, compat: bool, calls_only: bool) -> None:
    _check(f"grammar_{name}.gbnf", build_grammar(FIXTURE_HOME, compat=compat, calls_only=calls_only))


def test_parsed_and_validated_calls() -> None:
    results = []
    for raw in RAW_REPLIES:
        parsed = parse_reply(raw)
        valid, rejected = validate_calls(FIXTURE_HOME, parsed.calls)
        results.append(
            {
                "raw": raw,
                "sentence": parsed.sentence,
                "problems": parsed.problems,
                "execute": [c.as_dict() for c in valid],
                "rejected": [r.reason for r in rejected],
            }
        )
    _check("parsed_calls.json", json.dumps(results, indent=2, ensure_ascii=False) + "\n")
