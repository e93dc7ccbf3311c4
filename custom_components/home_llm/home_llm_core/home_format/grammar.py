"""A llama.cpp GBNF grammar built per request from the exposed entities, so the model can
only write a one-line sentence and, optionally, calls that name an exposed entity of the
right domain, a service allowed for it and well-formed arguments of the right kind.
Validation still checks ranges that depend on the entity (min/max temperature, options).

The arguments are the domain's, not each device's: a colour for a light without colour stays
writable so that validation refuses it with its reason. The model picks the device before its
arguments, so a per-device grammar would turn "make the desk lamp red" into a plain call that
turns the lamp on, and "set the box fan to breeze" (no presets) into a preset on another fan."""

from __future__ import annotations

import json
from collections.abc import Collection

from .home import Home
from .reply import FENCE_CLOSE, FENCE_OPEN
from .services import ARGUMENTS, required_arguments, services_for
from .validation import choices_of

MAX_CALLS = 8

# Value rules by argument kind; "option" is built per request from the entities' choices.
_VALUE_RULES = {
    "percent": 'pct ::= [0-9] | [1-9] [0-9] | "100"',
    "rgb": 'rgb ::= "[" byte ", " byte ", " byte "]"\n'
    'byte ::= [0-9] | [1-9] [0-9] | "1" [0-9] [0-9] | "2" [0-4] [0-9] | "25" [0-5]',
    "kelvin": "kelvin ::= [1-9] [0-9] [0-9] [0-9]",
    "temperature": 'temp ::= "-"? [0-9] [0-9]? [0-9]? ("." [0-9])?',
    "humidity": 'pct ::= [0-9] | [1-9] [0-9] | "100"',
    "text": 'text ::= "\\"" [^"\\\\\\n`]{1,100} "\\""',
    "duration": 'duration ::= "\\"" [0-9] [0-9] ":" [0-5] [0-9] ":" [0-5] [0-9] "\\""',
    "boolean": 'boolean ::= "true" | "false"',
}
_VALUE_RULE_NAME = {
    "percent": "pct",
    "humidity": "pct",
    "rgb": "rgb",
    "kelvin": "kelvin",
    "temperature": "temp",
    "text": "text",
    "duration": "duration",
    "boolean": "boolean",
}


def _literal(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid GBNF literal for our plain ASCII/UTF-8 text


def _rule_name(*parts: str) -> str:
    return "-".join(p.replace("_", "-") for p in parts)


def build_grammar(
    home: Home,
    *,
    compat: bool = False,
    calls_only: bool = False,
    act: bool = False,
    sentence_starts: tuple[str, ...] = (),
    without: Collection[tuple[str, str]] = (),
) -> str:
    """calls_only (v2): calls alone or a sentence alone; otherwise a sentence, then calls in a fence.
    act (v2): calls alone, no sentence (the home must have a device with a service).
    sentence_starts: a sentence must begin with one of these (none: any sentence).
    without: (service, entity id) pairs the grammar doesn't admit ("light.turn_on" on a lit lamp)."""
    rules: dict[str, str] = {}
    kinds: set[str] = set()
    call_rules: list[str] = []

    for domain in dict.fromkeys(e.domain for e in home.entities):
        entity_ids = [e.entity_id for e in home.entities if e.domain == domain]
        services = services_for(domain, compat=compat)
        if not services:
            continue
        entity_rule = _rule_name("ent", domain)
        # The domain is spelled in the call's fixed part: the decoder guesses fixed parts ahead
        # (worker.Drafter), and the service already decides the entity's domain.
        rules[entity_rule] = " | ".join(_literal(e.removeprefix(f"{domain}.")) for e in entity_ids)
        for service, args in services.items():
            service_rule = entity_rule
            if excluded := {e for called, e in without if called == f"{domain}.{service}"}:
                if not (kept := [e for e in entity_ids if e not in excluded]):
                    continue
                service_rule = _rule_name("ent", domain, service)
                rules[service_rule] = " | ".join(_literal(e.removeprefix(f"{domain}.")) for e in kept)
            pieces = [
                _literal(f'{{"service": "{domain}.{service}", "target_device": "{domain}.'),
                service_rule,
                _literal('"'),
            ]
            usable = True
            required = required_arguments(domain, service)
            for arg in args:
                argument = ARGUMENTS[arg]
                if argument.kind == "option":
                    assert argument.options_attribute is not None  # every "option" argument names one
                    choices = sorted(
                        {c for e in home.entities if e.domain == domain for c in choices_of(e, argument.options_attribute)}
                    )
                    if not choices:
                        if arg in required:  # nothing to choose from: the service can't be used here
                            usable = False
                        continue
                    value_rule = _rule_name("opt", domain, arg)
                    rules[value_rule] = " | ".join(_literal(json.dumps(c)) for c in choices)
                else:
                    kinds.add(argument.kind)
                    value_rule = _VALUE_RULE_NAME[argument.kind]
                key = _literal(f', "{arg}": ')
                pieces.append(f"{key} {value_rule}" if arg in required else f"({key} {value_rule})?")
            if not usable:
                continue
            pieces.append(_literal("}"))
            name = _rule_name("call", domain, service)
            rules[name] = " ".join(pieces)
            call_rules.append(name)

    # One line of prose: no newline, no backtick, no brace (so calls can't hide in it).
    sentence = "sentence ::= [^\\n`{}]+"
    if sentence_starts:
        sentence = f"sentence ::= ({' | '.join(_literal(start) for start in sentence_starts)}) [^\\n`{{}}]*"
    if act and call_rules:
        head = ["root ::= calls", f'calls ::= call ("\\n" call){{0,{MAX_CALLS - 1}}}']
    elif calls_only:
        head = [f"root ::= {'calls | ' if call_rules else ''}sentence", sentence]
        if call_rules:
            head.append(f'calls ::= call ("\\n" call){{0,{MAX_CALLS - 1}}}')
    else:
        head = [f"root ::= sentence{' calls?' if call_rules else ''}", sentence]
        if call_rules:
            fence_open, fence_close = _literal(f"\n{FENCE_OPEN}\n"), _literal(FENCE_CLOSE)
            head.append(f'calls ::= {fence_open} (call "\\n"){{1,{MAX_CALLS}}} {fence_close}')
    if call_rules:
        head.append("call ::= " + " | ".join(call_rules))
    body = [f"{name} ::= {rule}" for name, rule in rules.items()]
    values = list(dict.fromkeys(_VALUE_RULES[k] for k in sorted(kinds)))
    return "\n".join(head + body + values) + "\n"
