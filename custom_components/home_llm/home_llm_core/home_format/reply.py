"""The assistant's reply: a short sentence, then the calls, one JSON object per line.

    turning on the kitchen lights for you now
    ```homeassistant
    {"service": "light.turn_on", "target_device": "light.kitchen"}
    ```

In the v2 format (calls_only) a command is its calls alone and an answer one sentence:

    {"service": "light.turn_on", "target_device": "light.kitchen"}

`render_reply` writes it (the data generator and in-context examples use it); `parse_reply`
reads what real models emit, which is often less tidy than that.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

FENCE_OPEN = "```homeassistant"
FENCE_CLOSE = "```"


@dataclass(frozen=True)
class ModelCall:
    """A call as the model writes it: Home-format service, target and argument names."""

    service: str
    target: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        # Non-ASCII stays as is: the grammar forbids backslashes, so \uXXXX escapes could not be written.
        return json.dumps({"service": self.service, "target_device": self.target, **self.arguments}, ensure_ascii=False)


@dataclass
class ParsedReply:
    sentence: str
    calls: list[ModelCall]
    problems: list[str]  # fragments that looked like calls but could not be read


def render_reply(sentence: str, calls: list[ModelCall], *, calls_only: bool = False) -> str:
    """The reply in the Home format; calls_only (v2): a command's calls alone, one per line."""
    if not calls:
        return sentence
    body = "\n".join(call.to_json() for call in calls)
    if calls_only:
        return body
    return f"{sentence}\n{FENCE_OPEN}\n{body}\n{FENCE_CLOSE}"


def parse_reply(text: str) -> ParsedReply:
    """Tolerates a missing closing fence, bare JSON lines, several objects on one line,
    a JSON list, single quotes and Python-style literals."""
    sentence: list[str] = []
    candidates: list[str] = []
    in_block = seen_calls = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            # "```" toggles; a tagged fence ("```homeassistant", "```json") always opens.
            in_block = not in_block if line == "```" else True
            seen_calls = True
            continue
        if in_block or line.startswith(("{", "[")):
            if line:
                candidates.append(line)
            seen_calls = True
        elif line and not seen_calls:  # prose after the calls is rambling; drop it
            sentence.append(line)

    calls: list[ModelCall] = []
    problems: list[str] = []
    for candidate in candidates:
        objects = _read_objects(candidate)
        if objects is None:
            problems.append(candidate)
            continue
        for obj in objects:
            parsed = _to_calls(obj)
            if parsed is None:
                problems.append(candidate)
            else:
                calls.extend(parsed)
    return ParsedReply(_without_repeats(" ".join(sentence)), calls, problems)


def _without_repeats(sentence: str) -> str:
    """The sentence up to the first clause it says again: a small model that starts listing
    ("I can switch devices on and off, dim lights, open and close the blinds, open and close the
    blinds, ...") can loop until the token limit, and nobody wants to hear the loop."""
    clauses = sentence.split(", ")
    seen: set[str] = set()
    for at, clause in enumerate(clauses):
        key = clause.strip(" .").lower()
        if key in seen:
            return ", ".join(clauses[:at]).rstrip(" ,.") + "."
        seen.add(key)
    return sentence


_BETWEEN_OBJECTS = re.compile(r"\}\s*,?\s*\{")


def _read_objects(line: str) -> list[Any] | None:
    line = line.rstrip(",")
    for attempt in (line, "[" + _BETWEEN_OBJECTS.sub("},{", line) + "]"):
        value = _loads(attempt)
        if value is not None:
            return value if isinstance(value, list) else [value]
    return None


# No call is this long; a longer line is not worth parsing (the grammar caps the reply anyway).
_MAX_CANDIDATE = 10_000


def _loads(text: str) -> Any:
    if len(text) > _MAX_CANDIDATE:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the stack
        pass
    try:  # single quotes, True/None, tuples: Python literal syntax
        with warnings.catch_warnings():  # odd escapes in model output are not our code's warnings
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _to_calls(obj: Any) -> list[ModelCall] | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("service"), str):
        return None
    args = dict(obj)
    service = args.pop("service").strip()
    target = args.pop("target_device", None) or args.pop("entity_id", None)
    targets = target if isinstance(target, list) else [target]
    if not targets or not all(isinstance(t, str) and t.strip() for t in targets):
        return None
    return [ModelCall(service, t.strip(), args) for t in targets]
