"""Plain data types for a home as the model sees it (no Home Assistant imports)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entity:
    """One exposed device: what the prompt shows and what validation checks against."""

    entity_id: str
    name: str
    state: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    area: str | None = None
    aliases: tuple[str, ...] = ()
    # When the state last changed (any monotonic number); the cache-friendly prompt lists
    # states oldest first so that a change re-processes as little of the prompt as possible.
    last_changed: float = 0.0

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]


@dataclass(frozen=True)
class Home:
    """The exposed entities of one request, in prompt order, how temperatures read, and the
    floor of each area that has one (Home Assistant's floors: "the lights upstairs")."""

    entities: tuple[Entity, ...]
    temperature_unit: str = "°C"
    floors: Mapping[str, str] = field(default_factory=dict)  # area name -> floor name
    _by_id: dict[str, Entity] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "_by_id", {e.entity_id: e for e in self.entities})

    def get(self, entity_id: str) -> Entity | None:
        return self._by_id.get(entity_id)

    @property
    def domains(self) -> list[str]:
        return sorted({e.domain for e in self.entities})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Home:
        """Build from the case-file shape {"entities": [{"entity_id", "name", ...}]}."""
        entities = (
            Entity(
                entity_id=e["entity_id"],
                name=e.get("name") or e["entity_id"],
                state=str(e.get("state", "unknown")),
                attributes=dict(e.get("attributes") or {}),
                area=e.get("area"),
                aliases=tuple(e.get("aliases") or ()),
                last_changed=float(e.get("last_changed") or 0.0),
            )
            for e in data["entities"]
        )
        return cls(tuple(entities), temperature_unit=data.get("temperature_unit", "°C"), floors=dict(data.get("floors") or {}))

    def to_dict(self) -> dict[str, Any]:
        """The case-file shape from_dict reads (JSON-ready when the attributes are)."""
        floors = {"floors": dict(self.floors)} if self.floors else {}
        return {
            "temperature_unit": self.temperature_unit,
            **floors,
            "entities": [
                {
                    "entity_id": e.entity_id,
                    "name": e.name,
                    "area": e.area,
                    "aliases": list(e.aliases),
                    "state": e.state,
                    "attributes": dict(e.attributes),
                    "last_changed": e.last_changed,
                }
                for e in self.entities
            ],
        }


def in_prompt_order(entities: Iterable[Entity]) -> tuple[Entity, ...]:
    """The order devices are listed in: by area like a floor plan (no area last), then id.
    It doesn't move when states change, which keeps the prompt's head cacheable."""
    return tuple(sorted(entities, key=lambda e: (e.area or "~", e.entity_id)))


@dataclass(frozen=True)
class ServiceCall:
    """A validated call, in Home Assistant's own service and field names."""

    domain: str
    service: str
    entity_id: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.domain}.{self.service}"

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.name, "entity_id": self.entity_id, "data": dict(self.data)}
