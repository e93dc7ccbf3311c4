"""The assistant's sentence, in one of several personas: a wrapper around the clauses of
what it does ("Sure, turning on the fan and closing the blinds!"), or an answer, refusal
or question from the responses pile. Devices are named by their full name, so the
integration keeps the sentence as the reply the user hears."""

from __future__ import annotations

import random

from .languages.en import English
from .piles import Piles


class Responder:
    def __init__(self, rng: random.Random, piles: Piles, persona: str, lang: English, *, first_phrasing: bool = False) -> None:
        self.rng, self.piles, self.persona, self.lang = rng, piles, persona, lang
        self.first_phrasing = first_phrasing  # one reply style (v2): nothing arbitrary for the model to guess

    def _pick(self, key: str) -> str:
        by_persona = self.piles.responses[key]
        options = by_persona.get(self.persona, ()) + by_persona.get("*", ())
        return options[0] if self.first_phrasing else self.rng.choice(options)

    def say(self, key: str, **slots: str) -> str:
        if "name" in slots:
            slots.setdefault("be", self.lang.be(slots["name"]))
        if "list" in slots:
            slots.setdefault("be", self.lang.be(slots["list"]))
        if "thing" in slots:
            slots.setdefault("a_thing", self.lang.with_article(slots["thing"]))
        slots.update({k[:1].upper() + k[1:]: v[:1].upper() + v[1:] for k, v in list(slots.items()) if v})
        return self._pick(key).format_map(slots)

    def clause(self, intent: str, **slots: str) -> str:
        """What it does, as a clause: "turning on the Fan"."""
        return self._pick(f"do.{intent}").format_map(slots)

    def action(self, clauses: list[str]) -> str:
        return self.say("wrap.action", clause=self.lang.join(clauses))
