"""What the user hears: the model's sentence when everything it asked for ran and the
sentence names what was acted on; otherwise a confirmation of what was done (confirm.py), then
what was refused and why. A small model can say "turning on the coffee machine" while its
call opens the garage door: the user must hear what really happened."""

from __future__ import annotations

from .actions import CallResult
from .home_llm_core.home_format import Entity, Home, Interpretation
from .home_llm_core.home_format.confirm import confirmation

UNREADABLE = "Sorry, I couldn't make sense of the model's answer, so I didn't change anything."
NO_ANSWER = "Sorry, I don't have an answer to that."


def compose_reply(home: Home, interpretation: Interpretation, results: list[CallResult]) -> str:
    parsed = interpretation.parsed
    if parsed.problems and not parsed.calls:
        return UNREADABLE
    done = [r for r in results if r.ok]
    problems = [r.reason for r in interpretation.rejected]
    problems += [f"{_name(home, r.call.entity_id)} didn't respond to {r.call.name}: {r.error}" for r in results if not r.ok]
    if parsed.problems:
        problems.append("Part of the model's answer was unreadable and was ignored.")
    if not problems:
        if not done:
            return parsed.sentence or NO_ANSWER
        if parsed.sentence and all(_mentions(parsed.sentence, home.get(r.call.entity_id)) for r in done):
            return parsed.sentence
        return confirmation(home, [r.call for r in done])
    if not done:
        return "I didn't change anything. " + " ".join(problems)
    return " ".join([confirmation(home, [r.call for r in done]), *problems])


def _mentions(sentence: str, entity: Entity | None) -> bool:
    """Whether the sentence names the entity: by name, alias or id, or all the name's words."""
    if entity is None:
        return False
    text = sentence.lower()
    names = [entity.name, *entity.aliases, entity.entity_id.split(".", 1)[1].replace("_", " ")]
    if any(n.lower() in text for n in names):
        return True
    words = [w for w in entity.name.lower().split() if len(w) > 2]
    return bool(words) and all(w in text for w in words)


def _name(home: Home, entity_id: str) -> str:
    entity = home.get(entity_id)
    return entity.name if entity else entity_id
