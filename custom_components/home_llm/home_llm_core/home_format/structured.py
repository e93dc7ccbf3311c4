"""Structured output for AI tasks: from a plain description of the fields a task asks for,
the GBNF grammar that admits only one JSON object with those fields, the prompt text that
names them, and the checker that validates what the model wrote (a backend without grammar
support, or a grammar that can't express a range, is caught there).

It imports nothing from Home Assistant: the integration translates Home Assistant's
structure (selectors) into StructureField descriptions (ai_task.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

KINDS = ("text", "number", "integer", "boolean", "select")
# Caps that keep a small model from rambling inside one value; the checker does not enforce
# them (an answer from a backend without grammar support is not refused for its length).
MAX_TEXT_LENGTH = 500
MAX_LIST_ITEMS = 20
FRACTION_DIGITS = 6
# Numbers beyond 15 digits lose precision as floats: bounds are clamped to this for the grammar.
_LIMIT = 10**15 - 1


@dataclass(frozen=True, slots=True)
class StructureField:
    """One field of the requested JSON object.

    kind: "text", "number", "integer", "boolean" or "select" (one of `options`);
    minimum/maximum: inclusive bounds of a number or integer; multiple: a list of such values.
    """

    name: str
    kind: str
    required: bool = True
    description: str = ""
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    multiple: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.kind == "select" and not self.options:
            raise ValueError("a select field needs options")
        if self.kind != "select" and self.options:
            raise ValueError("only a select field has options")
        for bound in (self.minimum, self.maximum):
            if bound is not None and (self.kind not in ("number", "integer") or not math.isfinite(bound)):
                raise ValueError("only a number or an integer has a finite minimum or maximum")
        low, high = _int_bounds(self) if self.kind == "integer" else (self.minimum, self.maximum)
        if low is not None and high is not None and low > high:
            raise ValueError(f"no {self.kind} lies between {self.minimum} and {self.maximum}")
        # Duplicate options would only lengthen the grammar.
        object.__setattr__(self, "options", tuple(dict.fromkeys(self.options)))


class StructureError(ValueError):
    """The model's output is not the requested JSON object (the message says why)."""


def _check_names(fields: Sequence[StructureField]) -> None:
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"field names repeat: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")


# --- grammar -------------------------------------------------------------------------------


def _gbnf_literal(json_text: str) -> str:
    """A GBNF string literal for a piece of JSON text: json.dumps already wrote control
    characters as escapes, and UTF-8 stays as it is (llama.cpp reads literals as UTF-8)."""
    return '"' + json_text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _json_literal(value: str) -> str:
    """The GBNF literal that matches value written as a JSON string."""
    return _gbnf_literal(json.dumps(value, ensure_ascii=False))


def _digit_class(low: int, high: int) -> str:
    return f'"{low}"' if low == high else f"[{low}-{high}]"


def _same_length(low: str, high: str) -> list[list[str]]:
    """Sequences of digit rules matching exactly the decimal strings from low to high (same length)."""
    if not low:
        return [[]]
    if low[0] == high[0]:
        return [[f'"{low[0]}"', *rest] for rest in _same_length(low[1:], high[1:])]
    n = len(low) - 1
    first, last = int(low[0]), int(high[0])
    head: list[list[str]] = []
    tail: list[list[str]] = []
    if low[1:] != "0" * n:  # low's leading digit covers only part of its range
        head = [[f'"{low[0]}"', *rest] for rest in _same_length(low[1:], "9" * n)]
        first += 1
    if high[1:] != "9" * n:
        tail = [[f'"{high[0]}"', *rest] for rest in _same_length("0" * n, high[1:])]
        last -= 1
    middle = [[_digit_class(first, last)] + ([f"[0-9]{{{n}}}"] if n > 1 else ["[0-9]"] * n)] if first <= last else []
    return head + middle + tail


def _uint_range(low: int, high: int) -> str:
    """A GBNF expression for the whole numbers from low to high (0 <= low <= high), written
    as JSON writes them (no leading zeros)."""
    alternatives: list[list[str]] = []
    for length in range(len(str(low)), len(str(high)) + 1):
        start = max(low, 10 ** (length - 1) if length > 1 else 0)
        end = min(high, 10**length - 1)
        alternatives += _same_length(str(start), str(end))
    return "(" + " | ".join(" ".join(seq) for seq in alternatives) + ")"


def _int_bounds(field: StructureField) -> tuple[int, int]:
    low = -_LIMIT if field.minimum is None else max(-_LIMIT, math.ceil(field.minimum))
    high = _LIMIT if field.maximum is None else min(_LIMIT, math.floor(field.maximum))
    return low, high


def _integer_expr(low: int, high: int) -> str:
    alternatives = []
    if high >= 0:
        alternatives.append(_uint_range(max(low, 0), high))
    if low < 0:
        alternatives.append('"-" ' + _uint_range(max(1, -high), -low))
    return " | ".join(alternatives)


def _unsigned_number(low: float, high: float) -> str:
    """Numbers with magnitudes from about low to high (0 <= low <= high): the integer part is
    bounded, a fraction optional; past a bound that isn't whole, the checker refuses."""
    top = math.floor(high)
    if high == top:  # the top itself, but nothing above it
        alternatives = [_uint_range(top, top)]
        if math.floor(low) <= top - 1:
            alternatives.insert(0, f"{_uint_range(math.floor(low), top - 1)} frac?")
        return " | ".join(alternatives)
    return f"{_uint_range(math.floor(low), top)} frac?"


def _number_expr(field: StructureField) -> str:
    low = -_LIMIT if field.minimum is None else max(-_LIMIT, field.minimum)
    high = _LIMIT if field.maximum is None else min(_LIMIT, field.maximum)
    alternatives = []
    if high >= 0:
        alternatives.append(_unsigned_number(max(low, 0), high))
    if low < 0:
        alternatives.append(f'"-" ({_unsigned_number(max(-high, 0), -low)})')
    return " | ".join(alternatives)


def structure_grammar(fields: Sequence[StructureField]) -> str:
    """A GBNF grammar for one JSON object with these fields, in this order: required ones
    always, optional ones may be left out; each value of its kind, options exactly, numbers
    and integers within their bounds (whole bounds exactly), text as a JSON string of at most
    MAX_TEXT_LENGTH characters, lists of at most MAX_LIST_ITEMS values (select: as many as options)."""
    _check_names(fields)
    rules: dict[str, str] = {}
    helpers: dict[str, str] = {}
    for i, field in enumerate(fields, 1):
        if field.kind == "text":
            helpers["string"] = f'"\\"" char{{0,{MAX_TEXT_LENGTH}}} "\\""'
            # JSON: any character but the quote, the backslash and controls; or an escape.
            helpers["char"] = '[^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})'
            value = "string"
        elif field.kind == "boolean":
            value = '("true" | "false")'
        elif field.kind == "select":
            value = "(" + " | ".join(_json_literal(option) for option in field.options) + ")"
        elif field.kind == "integer":
            rules[f"value-{i}"] = _integer_expr(*_int_bounds(field))
            value = f"value-{i}"
        else:
            helpers["frac"] = f'"." [0-9]{{1,{FRACTION_DIGITS}}}'
            rules[f"value-{i}"] = _number_expr(field)
            value = f"value-{i}"
        if field.multiple:
            most = len(field.options) if field.kind == "select" else MAX_LIST_ITEMS
            more = f' (", " {value}){{0,{most - 1}}}' if most > 1 else ""
            value = f'"[" ({value}{more})? "]"'
        rules[f"field-{i}"] = f"{_gbnf_literal(json.dumps(field.name, ensure_ascii=False) + ': ')} {value}"
    if not fields:
        return 'root ::= "{}"\n'
    # Optional fields: "from-i" opens the object at field i or a later one (no comma before
    # the first field written), "rest-i" is what may follow field i - 1.
    n = len(fields)
    structure: dict[str, str] = {"root": '"{" from-1 "}"'}
    opening = 1
    while opening <= n:
        rest = f" rest-{opening + 1}" if opening < n else ""
        if fields[opening - 1].required:
            structure[f"from-{opening}"] = f"field-{opening}{rest}"
            break
        structure[f"from-{opening}"] = f"field-{opening}{rest} | from-{opening + 1}" if opening < n else f"field-{opening}?"
        opening += 1
    for i in range(2, n + 1):
        rest = f" rest-{i + 1}" if i < n else ""
        member = f'", " field-{i}'
        structure[f"rest-{i}"] = f"{member}{rest}" if fields[i - 1].required else f"({member})?{rest}"
    lines = [f"{name} ::= {rule}" for name, rule in (structure | rules | helpers).items()]
    return "\n".join(lines) + "\n"


# --- prompt --------------------------------------------------------------------------------


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _describe(field: StructureField) -> str:
    if field.kind == "select":
        what = "one of " + ", ".join(json.dumps(o, ensure_ascii=False) for o in field.options)
    elif field.kind == "boolean":
        what = "true or false"
    elif field.kind == "text":
        what = "a text"
    else:
        what = "a whole number" if field.kind == "integer" else "a number"
        if field.minimum is not None and field.maximum is not None:
            what += f" from {_number_text(field.minimum)} to {_number_text(field.maximum)}"
        elif field.minimum is not None:
            what += f" of at least {_number_text(field.minimum)}"
        elif field.maximum is not None:
            what += f" of at most {_number_text(field.maximum)}"
    return f"a list, each {what}" if field.multiple else what


def structure_prompt(fields: Sequence[StructureField]) -> str:
    """What the system prompt tells the model about the object it must write."""
    lines = ["Answer with one JSON object and nothing else. Its fields:"]
    for field in fields:
        line = (
            f"- {json.dumps(field.name, ensure_ascii=False)} ({'required' if field.required else 'optional'}): {_describe(field)}"
        )
        if field.description:
            line += f". {field.description.strip()}"
        lines.append(line)
    return "\n".join(lines)


# --- checker -------------------------------------------------------------------------------


def _reject_constant(name: str) -> NoReturn:
    raise StructureError(f"{name} is not a JSON number")


def _strip_fence(text: str) -> str:
    """Models without a grammar like to put JSON in a Markdown code fence."""
    match = re.fullmatch(r"```[a-zA-Z]*\s*\n(.*?)\n?```", text, re.DOTALL)
    return match.group(1).strip() if match else text


def _check_value(field: StructureField, value: Any, where: str) -> Any:
    kind = field.kind
    if kind == "text":
        if not isinstance(value, str):
            raise StructureError(f"{where}: {json.dumps(value)} is not a text")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, from a \\ud800 escape
            raise StructureError(f"{where}: the text is not valid Unicode") from None
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise StructureError(f"{where}: {json.dumps(value)} is not true or false")
        return value
    if kind == "select":
        if value not in field.options:
            raise StructureError(f"{where}: {json.dumps(value)} is not one of {', '.join(json.dumps(o) for o in field.options)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StructureError(f"{where}: {json.dumps(value)} is not a number")
    if kind == "integer" and isinstance(value, float):
        if not value.is_integer():
            raise StructureError(f"{where}: {value!r} is not a whole number")
        value = int(value)
    if field.minimum is not None and value < field.minimum:
        raise StructureError(f"{where}: {value!r} is below the minimum {_number_text(field.minimum)}")
    if field.maximum is not None and value > field.maximum:
        raise StructureError(f"{where}: {value!r} is above the maximum {_number_text(field.maximum)}")
    return value


def parse_structured(text: str, fields: Sequence[StructureField]) -> dict[str, Any]:
    """The object the model wrote, checked against the fields (kinds, options, bounds, no
    missing required field, no other field), in the fields' order.

    Raises StructureError with what is wrong.
    """
    _check_names(fields)
    text = _strip_fence(text.strip())
    try:
        data = json.loads(text, parse_constant=_reject_constant)  # NaN and Infinity aren't JSON
    except StructureError:
        raise
    except ValueError as err:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise StructureError(f"the output is not JSON ({err}): {shown!r}") from None
    if not isinstance(data, dict):
        raise StructureError(f"the output is a JSON {type(data).__name__}, not an object")
    by_name = {f.name: f for f in fields}
    unknown = [name for name in data if name not in by_name]
    if unknown:
        raise StructureError(f"unexpected field {', '.join(json.dumps(n) for n in unknown)}")
    missing = [f.name for f in fields if f.required and f.name not in data]
    if missing:
        raise StructureError(f"missing field {', '.join(json.dumps(n) for n in missing)}")
    result: dict[str, Any] = {}
    for field in fields:
        if field.name not in data:
            continue
        value, where = data[field.name], f"field {json.dumps(field.name)}"
        if field.multiple:
            if not isinstance(value, list):
                raise StructureError(f"{where}: {json.dumps(value)} is not a list")
            result[field.name] = [_check_value(field, item, f"{where}, item {n}") for n, item in enumerate(value, 1)]
        else:
            result[field.name] = _check_value(field, value, where)
    return result
