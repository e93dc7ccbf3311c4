"""Turning a template into what a user says: values spoken several ways, then the noise
of real requests: fillers and politeness, speech-recognition slips, typos, dropped words,
punctuation and casing. Value words (numbers, colours, items) are never garbled, so the
expected call stays the truth."""

from __future__ import annotations

import random
import re

from home_llm_core.home_format.relative import AMOUNT_WORDS

from .languages.en import English

# Chances per request.
PREFIX, SUFFIX = 0.15, 0.15
HOMOPHONE, TYPO, DROP_THE, STUTTER = 0.1, 0.1, 0.05, 0.03
CASING = {"lower": 0.5, "keep": 0.28, "sentence": 0.14, "title": 0.05, "upper": 0.03}

_SPACES = re.compile(r"\s+")
_POLITE_STARTS = ("please", "could", "can", "would", "hey", "ok", "okay")


class Phrasing:
    def __init__(self, rng: random.Random, lang: English, words: dict) -> None:
        self.rng, self.lang, self.words = rng, lang, words

    def spoken(self, kind: str, raw: object, unit: str) -> str:
        """One way a user says a value of this kind."""
        rng, lang = self.rng, self.lang
        if kind == "percent":
            return lang.say_percent(rng, raw)
        if kind == "temperature":
            return lang.say_temperature(rng, raw, unit)
        if kind == "kelvin":
            return lang.say_kelvin(rng, raw, self.words["kelvin_names"])
        if kind == "color":
            return rng.choice(self.words["colors"].get(raw, [raw]))
        if kind == "mode":
            return rng.choice(self.words["modes"].get(raw, [raw.replace("_", " ")]))
        if kind == "duration":
            return lang.say_duration(rng, raw)
        if kind == "amount":
            return rng.choice(AMOUNT_WORDS[raw])
        return str(raw)

    def fill(self, text: str, slots: dict[str, str]) -> str:
        return _SPACES.sub(" ", text.format_map(slots)).strip()

    def user_text(self, text: str, protected: set[str], question: bool = False) -> str:
        """The request as it reaches the agent: typed or transcribed, politely or not."""
        rng = self.rng
        words = text.split(" ")
        if rng.random() < PREFIX:
            polite = question or text.lower().startswith(_POLITE_STARTS)
            options = self.words["prefix"] + ([] if polite else self.words["request_prefix"])
            words.insert(0, rng.choice(options) + rng.choice(["", "", ","]))
        if rng.random() < SUFFIX and not text.endswith("?"):
            words.append(rng.choice(self.words["suffix"]))
        free = [i for i, w in enumerate(words) if _bare(w) not in protected and not any(c.isdigit() for c in w)]
        if free and rng.random() < HOMOPHONE:
            swaps = [i for i in free if _bare(words[i]) in self.words["homophones"]]
            if swaps:
                i = rng.choice(swaps)
                words[i] = rng.choice(self.words["homophones"][_bare(words[i])]) + _trail(words[i])
        if free and rng.random() < TYPO:
            long_words = [i for i in free if len(_bare(words[i])) >= 4]
            if long_words:
                i = rng.choice(long_words)
                words[i] = self._typo(words[i])
        if rng.random() < DROP_THE and "the" in words:
            words.remove("the")
        if rng.random() < STUTTER and len(words) > 2:
            i = rng.randrange(len(words) - 1)
            words.insert(i, words[i])
        result = " ".join(w for w in words if w)
        if result.endswith("?") and rng.random() < 0.35:
            result = result[:-1]
        elif not result.endswith("?") and rng.random() < 0.08:
            result += rng.choice([".", "!"])
        return self._case(result)

    def _typo(self, word: str) -> str:
        rng, core, trail = self.rng, word.rstrip("?.,!"), word[len(word.rstrip("?.,!")) :]
        i = rng.randrange(len(core) - 1)
        kind = rng.choice(["swap", "drop", "double", "near"])
        if kind == "swap":
            core = core[:i] + core[i + 1] + core[i] + core[i + 2 :]
        elif kind == "drop":
            core = core[:i] + core[i + 1 :]
        elif kind == "double":
            core = core[:i] + core[i] + core[i:]
        else:
            near = self.words["keyboard_neighbours"].get(core[i].lower())
            if near:
                core = core[:i] + rng.choice(near) + core[i + 1 :]
        return core + trail

    def _case(self, text: str) -> str:
        style = self.rng.choices(list(CASING), weights=list(CASING.values()))[0]
        if style == "lower":
            return text.lower()
        if style == "sentence":
            return text[:1].upper() + text[1:]
        if style == "title":
            return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
        if style == "upper":
            return text.upper()
        return text


def _bare(word: str) -> str:
    return word.strip("?.,!").lower()


def _trail(word: str) -> str:
    return word[len(word.rstrip("?.,!")) :]


def protected_words(values: list[str]) -> set[str]:
    """The words of spoken values: left exactly as they are."""
    return {w.strip("?.,!").lower() for value in values for w in value.split()}
