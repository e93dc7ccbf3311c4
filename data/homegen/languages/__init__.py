"""Language-specific wording that isn't a word list: numbers, durations, lists, agreement.

Word lists live in data/piles/<code>/; the rules for saying values live here, one module
per language, registered in LANGUAGES. A new language adds both (see data/README.md).
"""

from __future__ import annotations

from .en import English

LANGUAGES = {"en": English}


def get_language(code: str) -> English:
    try:
        return LANGUAGES[code]()
    except KeyError:
        raise SystemExit(f"no language '{code}'; available: {', '.join(sorted(LANGUAGES))}") from None
