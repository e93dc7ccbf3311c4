"""How a user can name a device in this home so that exactly one device is meant: its
name, an alias, its name without the area ("the ceiling light"), its noun ("the lamp"),
"the lamp in the bedroom" or "the bedroom lamp"; and the words that fit several devices
(ambiguity).

A partial reference counts as unique only if no other entity's name or alias contains
its words, the way a person reading the device list would judge it."""

from __future__ import annotations

from dataclasses import dataclass

from .homes import Device, GenHome
from .languages.en import English


@dataclass(frozen=True)
class Reference:
    text: str
    kind: str  # name | alias | short | noun | short_in_area | area_noun | satellite


NAMED_ONLY = frozenset({"scene", "script", "input_boolean", "button", "input_button"})
NO_NOUN = frozenset({"sensor", "binary_sensor"})  # "the temperature" is a question about a room, not a sensor
# Plural group words mean every such device in an area ("turn off the lights"), never one of them.
GROUP_WORDS = frozenset({"lights", "fans", "blinds", "shades", "curtains", "shutters", "spotlights"})


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(words[i : i + n] == part for i in range(len(words) - n + 1))


class NameIndex:
    """The words of every entity's name and aliases in one home."""

    def __init__(self, home: GenHome, lang: English, show_aliases: bool) -> None:
        self.home, self.lang = home, lang
        self.names: dict[str, list[tuple[str, ...]]] = {}
        for device in home.devices:
            forms = [device.name] + (list(device.entity.aliases) if show_aliases else [])
            self.names[device.entity.entity_id] = [tuple(lang.words(f)) for f in forms]
        self.show_aliases = show_aliases
        self._ambiguous: dict[str, list[Device]] | None = None

    def matching(self, text: str, among: list[Device] | None = None) -> list[Device]:
        """Devices whose name or alias contains these words."""
        part = tuple(self.lang.words(text))
        if not part:
            return []
        pool = self.home.devices if among is None else among
        return [d for d in pool if any(_contains(words, part) for words in self.names[d.entity.entity_id])]

    def shares_words(self, text: str) -> bool:
        """Whether any name or alias in the home has one of these words."""
        said = set(self.lang.words(text))
        return any(said.intersection(words) for forms in self.names.values() for words in forms)

    def exact(self, text: str) -> list[Device]:
        part = tuple(self.lang.words(text))
        return [d for d in self.home.devices if part in self.names[d.entity.entity_id]]

    def partials(self, device: Device) -> list[str]:
        """Shorter ways to say its name: without the area, and its last word (a scene called
        "Movie Night" or a "Reboot NAS" button is only ever called by its name)."""
        result = []
        if device.domain in NAMED_ONLY:
            return result
        short_words = self.lang.words(device.short)
        if short_words and tuple(short_words) != tuple(self.lang.words(device.name)):
            result.append(device.short.lower() if device.name.islower() else device.short)
        if len(short_words) > 1 and len(short_words[-1]) > 2 and device.domain not in NO_NOUN:
            result.append(short_words[-1])
        return [text for text in result if text.lower() not in GROUP_WORDS]

    def unique(self, device: Device, with_areas: bool) -> list[Reference]:
        """References that pick out this device from the whole home."""
        refs = []
        if self.exact(device.name) == [device]:
            refs.append(Reference(device.name, "name"))
        if self.show_aliases:
            refs += [Reference(a, "alias") for a in device.entity.aliases if self.exact(a) == [device]]
        for text in self.partials(device):
            if self.matching(text) == [device]:
                refs.append(Reference(text, "short" if len(text.split()) > 1 or text == device.short else "noun"))
        if with_areas and device.area:
            in_area = self.home.in_area(device.area)
            name_has_area = _contains(tuple(self.lang.words(device.name)), tuple(self.lang.words(device.area)))
            for text in self.partials(device)[:1] or ([] if name_has_area else [device.name]):
                if self.matching(text, in_area) == [device]:
                    refs.append(Reference(f"{text} in the {device.area}", "short_in_area"))
            area_noun = self._area_noun(device, in_area)
            if area_noun:
                refs.append(Reference(area_noun, "area_noun"))
        return refs

    def _area_noun(self, device: Device, in_area: list[Device]) -> str | None:
        """The area and the name's last word ("the kitchen light"), when that word fits only
        this device in its area and the phrase isn't (part of) another device's name."""
        if device.domain in NAMED_ONLY or device.domain in NO_NOUN:
            return None
        name_words = self.lang.words(device.name)
        noun = name_words[-1] if name_words else ""
        if len(noun) <= 2 or noun in GROUP_WORDS or self.matching(noun, in_area) != [device]:
            return None
        text = f"{device.area.lower()} {noun}" if device.name.islower() else f"{device.area} {noun.capitalize()}"
        if tuple(self.lang.words(text)) == tuple(name_words) or self.matching(text) not in ([], [device]):
            return None
        return text

    def from_satellite(self, device: Device, satellite: str) -> list[Reference]:
        """Words that fit several devices but only this one in the speaker's area."""
        if device.area != satellite:
            return []
        in_area = self.home.in_area(satellite)
        return [
            Reference(text, "satellite")
            for text in [*self.partials(device), device.name]
            if len(self.exact(text)) != 1 and len(self.matching(text)) > 1 and self.matching(text, in_area) == [device]
        ]

    def ambiguous(self) -> dict[str, list[Device]]:
        """Words that fit several devices: a device's name without its area, its noun, or a
        name that two devices share. Computed once per home."""
        if self._ambiguous is None:
            self._ambiguous = {}
            for device in self.home.devices:
                for text in [*self.partials(device), device.name]:
                    key = text.lower()
                    if key in self._ambiguous or len(self.exact(text)) == 1:  # a full name means that one device
                        continue
                    found = self.matching(text)
                    if len(found) > 1 and not self._fits_more_than_named(text, found):
                        self._ambiguous[key] = found
        return self._ambiguous

    def _fits_more_than_named(self, text: str, found: list[Device]) -> bool:
        """A single word like "light" names only some lights by their words, but a person
        hearing "turn on the light" thinks of every light: such a question is no clean
        example of asking back, so it is left out."""
        if len(self.lang.words(text)) != 1:
            return False
        domains = {d.domain for d in found}
        return any(d.domain in domains and d not in found for d in self.home.devices)
