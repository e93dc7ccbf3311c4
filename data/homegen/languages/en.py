"""English: how values are said by users (several ways each) and written in replies (one way)."""

from __future__ import annotations

import random
import re
from datetime import datetime

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD = re.compile(r"[^\W_]+")


class English:
    code = "en"

    # ---- numbers --------------------------------------------------------------------
    def number_words(self, n: int, hyphen: bool = False) -> str:
        if n < 0:
            return "minus " + self.number_words(-n, hyphen)
        if n < 20:
            return _ONES[n]
        if n < 100:
            tens, ones = divmod(n, 10)
            return _TENS[tens] + ((("-" if hyphen else " ") + _ONES[ones]) if ones else "")
        if n < 1000:
            hundreds, rest = divmod(n, 100)
            return f"{_ONES[hundreds]} hundred" + (f" and {self.number_words(rest, hyphen)}" if rest else "")
        thousands, rest = divmod(n, 1000)
        if rest and rest % 100 == 0 and thousands < 10:  # 2700 -> "twenty seven hundred", as people say kelvins
            return f"{self.number_words(n // 100, hyphen)} hundred"
        return f"{self.number_words(thousands, hyphen)} thousand" + (f" {self.number_words(rest, hyphen)}" if rest else "")

    def say_number(self, rng: random.Random, n: int) -> str:
        return str(n) if rng.random() < 0.6 else self.number_words(n, hyphen=rng.random() < 0.3)

    def say_percent(self, rng: random.Random, n: int) -> str:
        if n == 50 and rng.random() < 0.15:
            return "half"
        if n == 100 and rng.random() < 0.2:
            return "full"
        roll = rng.random()
        if roll < 0.35:
            return f"{n}%"
        if roll < 0.6:
            return f"{n} percent"
        if roll < 0.85:
            return f"{self.number_words(n, hyphen=rng.random() < 0.3)} percent"
        return str(n)

    def say_temperature(self, rng: random.Random, value: float, unit: str) -> str:
        whole, half = int(value), value != int(value)
        if half:
            number = rng.choice(
                [
                    f"{value:g}",
                    f"{self.number_words(whole)} and a half",
                    f"{whole} and a half",
                    f"{self.number_words(whole)} point five",
                ]
            )
        else:
            number = self.say_number(rng, whole)
        unit_word = "fahrenheit" if unit == "°F" else "celsius"
        return rng.choice([number, f"{number} degrees", f"{number} degrees", f"{number} degrees {unit_word}", f"{number}°"])

    def say_kelvin(self, rng: random.Random, kelvin: int, names: dict[str, list[str]]) -> str:
        named = names.get(str(kelvin))
        if named and rng.random() < 0.5:
            return rng.choice(named)
        return rng.choice([f"{kelvin} kelvin", f"{kelvin}K", f"{kelvin} k", f"{self.number_words(kelvin)} kelvin"])

    def say_duration(self, rng: random.Random, seconds: int) -> str:
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        special = {
            1800: ["half an hour", "thirty minutes"],
            900: ["a quarter of an hour", "fifteen minutes"],
            5400: ["an hour and a half"],
            90: ["a minute and a half", "90 seconds"],
            3600: ["an hour", "one hour"],
            60: ["a minute", "one minute"],
        }
        if seconds in special and rng.random() < 0.5:
            return rng.choice(special[seconds])
        parts = []
        for amount, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
            if amount:
                parts.append(f"{self.say_number(rng, amount)} {unit}{'s' if amount != 1 else ''}")
        if len(parts) > 1 and rng.random() < 0.5:
            return " and ".join(parts)
        return " ".join(parts)

    # ---- values as replies write them -----------------------------------------------------
    def percent_text(self, n: int) -> str:
        return f"{n}%"

    def temperature_text(self, value: float, unit: str) -> str:
        return f"{value:g}{unit}"

    def duration_text(self, seconds: int) -> str:
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        parts = [
            f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if n
        ]
        return self.join(parts)

    def time_text(self, now: datetime) -> str:
        return now.strftime("%I:%M %p").lstrip("0")

    def date_text(self, now: datetime) -> str:
        return f"{now:%A}, {now:%B} {now.day}"

    # ---- grammar ------------------------------------------------------------------------
    def join(self, items: list[str], conjunction: str = "and") -> str:
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"

    def options(self, names: list[str]) -> str:
        """'the Desk Lamp or the Floor Lamp': choices offered back to the user."""
        return self.join([f"the {n}" for n in names], "or")

    def is_plural(self, name: str) -> bool:
        last = name.split()[-1].lower() if name.split() else ""
        return last.endswith("s") and not last.endswith(("ss", "us", "is"))

    def be(self, name: str) -> str:
        return "are" if self.is_plural(name) else "is"

    def with_article(self, thing: str) -> str:
        if self.is_plural(thing):
            return "any " + thing
        return ("an " if thing[:1].lower() in "aeiou" else "a ") + thing

    def words(self, text: str) -> list[str]:
        """Lower-case words for matching names (hyphens and apostrophes split)."""
        return _WORD.findall(text.lower())
