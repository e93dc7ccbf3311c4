"""Loads one language's piles (data/piles/<code>/): device names, home layouts, sentence
templates, chit-chat, responses and word lists. Plain CSV and JSON, read with the stdlib."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import string
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

PILES_DIR = Path(__file__).resolve().parents[1] / "piles"

# Forms of a sentence template: a whole request, a clause that joins others ("turn on the
# fan" in "turn on the fan and close the blinds"), or a second turn ("turn it off again").
FORMS = ("say", "clause", "followup")


@dataclass(frozen=True)
class DeviceName:
    id: str  # stable: domain + the name without its area, e.g. "light.ceiling_light"
    domain: str
    kind: str  # device_class or profile: "color", "garage", "temperature", ... ("" = any)
    pattern: str  # "{area} Ceiling Light" or "Desk Lamp"
    aliases: tuple[str, ...]
    area_kinds: tuple[str, ...]  # where it may stand; "-" = no area; empty = any indoor area
    holdout: bool

    @property
    def short(self) -> str:
        """The name without its area: "Ceiling Light"."""
        return self.pattern.replace("{area}", "").strip()

    @property
    def needs_area(self) -> bool:
        return "{area}" in self.pattern


@dataclass(frozen=True)
class Template:
    id: str  # intent + a hash of form and text: stable when other templates are added
    intent: str
    form: str
    text: str
    domains: frozenset[str] | None  # None: every domain of the intent
    holdout: bool

    @cached_property
    def slots(self) -> frozenset[str]:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.text) if name)


@dataclass(frozen=True)
class Layout:
    id: str
    floors: tuple[tuple[str | None, tuple[str, ...]], ...]  # (floor name, area kinds)
    outside: tuple[str, ...]
    holdout: bool


@dataclass(frozen=True)
class ChitChat:
    id: str
    kind: str
    text: str
    holdout: bool


@dataclass(frozen=True)
class Piles:
    language: str
    devices: tuple[DeviceName, ...]
    layouts: tuple[Layout, ...]
    area_names: dict[str, tuple[str, ...]]
    outdoor_kinds: frozenset[str]
    templates: tuple[Template, ...]
    chitchat: tuple[ChitChat, ...]
    responses: dict[str, dict[str, tuple[str, ...]]]  # key -> persona ("*" = any) -> texts
    words: dict[str, Any]

    @cached_property
    def device_by_id(self) -> dict[str, DeviceName]:
        return {d.id: d for d in self.devices}

    @cached_property
    def personas(self) -> tuple[str, ...]:
        return tuple(sorted({p for by_persona in self.responses.values() for p in by_persona if p != "*"}))


def _short_hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:6]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def load_piles(language: str) -> Piles:
    folder = PILES_DIR / language
    if not folder.is_dir():
        raise SystemExit(f"no piles for language '{language}' in {PILES_DIR}")

    devices = tuple(
        DeviceName(
            id=f"{row['domain']}.{_slug(row['name'].replace('{area}', ''))}",
            domain=row["domain"],
            kind=row["kind"],
            pattern=row["name"],
            aliases=_split(row["aliases"]),
            area_kinds=_split(row["areas"]),
            holdout=bool(row["holdout"]),
        )
        for row in _rows(folder / "devices.csv")
    )
    layout_data = json.loads((folder / "layouts.json").read_text(encoding="utf-8"))
    layouts = tuple(
        Layout(
            id=entry["id"],
            floors=tuple((floor["name"], tuple(floor["areas"])) for floor in entry["floors"]),
            outside=tuple(entry.get("outside", ())),
            holdout=holdout,
        )
        for key, holdout in (("layouts", False), ("holdout", True))
        for entry in layout_data[key]
    )
    templates = tuple(
        Template(
            id=f"{row['intent']}.{_short_hash(row['form'], row['text'])}",
            intent=row["intent"],
            form=row["form"],
            text=row["text"],
            domains=frozenset(_split(row["domains"])) or None,
            holdout=bool(row["holdout"]),
        )
        for row in _rows(folder / "commands.csv")
    )
    chitchat = tuple(
        ChitChat(f"chat_{row['kind']}.{_short_hash(row['text'])}", row["kind"], row["text"], bool(row["holdout"]))
        for row in _rows(folder / "chitchat.csv")
    )
    responses: dict[str, dict[str, list[str]]] = {}
    for row in _rows(folder / "responses.csv"):
        responses.setdefault(row["key"], {}).setdefault(row["persona"], []).append(row["text"])

    piles = Piles(
        language=language,
        devices=devices,
        layouts=layouts,
        area_names={kind: tuple(names) for kind, names in layout_data["area_names"].items()},
        outdoor_kinds=frozenset(layout_data["outdoor_kinds"]),
        templates=templates,
        chitchat=chitchat,
        responses={key: {p: tuple(texts) for p, texts in by_persona.items()} for key, by_persona in responses.items()},
        words=json.loads((folder / "words.json").read_text(encoding="utf-8")),
    )
    _check(piles)
    return piles


def template_shapes(text: str) -> set[str]:
    """A template's wording with its slots blanked, with and without its optional amount:
    "set the {device} to {brightness}" and "set the {device} to {temperature}" read alike."""
    forms = (text.lower(), text.lower().replace("{amount}", ""))
    return {" ".join(re.sub(r"\{\w+\}", "{}", form).split()).strip(" ?.!") for form in forms}


def _check(piles: Piles) -> None:
    """Mistakes in hand-edited piles fail loudly here instead of skewing the data."""
    problems = []
    ids = [d.id for d in piles.devices]
    problems += [f"device name id {i} appears twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    template_ids = [t.id for t in piles.templates]
    problems += [f"template {i} appears twice" for i in sorted({i for i in template_ids if template_ids.count(i) > 1})]
    problems += [f"template {t.id} has unknown form {t.form!r}" for t in piles.templates if t.form not in FORMS]
    seen_shapes = {shape for t in piles.templates if not t.holdout for shape in template_shapes(t.text)}
    problems += [
        f"held-out template {t.id} {t.text!r} reads like a training template"
        for t in piles.templates
        if t.holdout and template_shapes(t.text) & seen_shapes
    ]
    kinds = set(piles.area_names)
    for layout in piles.layouts:
        used = {k for _, areas in layout.floors for k in areas} | set(layout.outside)
        problems += [f"layout {layout.id} uses unknown area kind {k!r}" for k in sorted(used - kinds)]
    for device in piles.devices:
        problems += [
            f"device {device.id} names unknown area kind {k!r}" for k in device.area_kinds if k != "-" and k not in kinds
        ]
    if problems:
        raise ValueError("piles/" + piles.language + ": " + "; ".join(problems))
