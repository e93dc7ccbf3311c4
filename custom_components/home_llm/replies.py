"""What the user hears: the model's sentence when everything it asked for ran, otherwise a
plain account of what was done, what was refused and why."""

from __future__ import annotations

from .actions import CallResult
from .home_format import Home, ParsedReply, Rejection

UNREADABLE = "Sorry, I couldn't make sense of the model's answer, so I didn't change anything."
NO_ANSWER = "Sorry, I don't have an answer to that."


def compose_reply(home: Home, parsed: ParsedReply, rejected: list[Rejection], results: list[CallResult]) -> str:
    if parsed.problems and not parsed.calls:
        return UNREADABLE
    done = [r for r in results if r.ok]
    problems = [r.reason for r in rejected]
    problems += [f"{_name(home, r.call.entity_id)} didn't respond to {r.call.name}: {r.error}" for r in results if not r.ok]
    if parsed.problems:
        problems.append("Part of the model's answer was unreadable and was ignored.")
    if not problems:
        return parsed.sentence or ("Done." if done else NO_ANSWER)
    if not done:
        return "I didn't change anything. " + " ".join(problems)
    did = ", ".join(f"{r.call.service.replace('_', ' ')} {_name(home, r.call.entity_id)}" for r in done)
    return f"Partly done: I did {did}. " + " ".join(problems)


def _name(home: Home, entity_id: str) -> str:
    entity = home.get(entity_id)
    return entity.name if entity else entity_id
