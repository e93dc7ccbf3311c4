"""A snapshot of the entities exposed to Assist, as the Home format sees them."""

from __future__ import annotations

from homeassistant.components.conversation import DOMAIN as CONVERSATION_DOMAIN
from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr

from .home_llm_core.home_format import Entity, Home, in_prompt_order


def snapshot_home(hass: HomeAssistant) -> Home:
    """Exposed entities with names, areas and aliases, in prompt order, and their areas' floors."""
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    area_registry = ar.async_get(hass)
    floor_registry = fr.async_get(hass)
    entities = []
    floors: dict[str, str] = {}
    for state in hass.states.async_all():
        if not async_should_expose(hass, CONVERSATION_DOMAIN, state.entity_id):
            continue
        area_id = None
        aliases: tuple[str, ...] = ()
        if entry := entity_registry.async_get(state.entity_id):
            aliases = tuple(sorted(a for a in entry.aliases if isinstance(a, str)))
            area_id = entry.area_id
            if area_id is None and entry.device_id and (device := device_registry.async_get(entry.device_id)):
                area_id = device.area_id
        area = area_registry.async_get_area(area_id) if area_id else None
        if area and area.floor_id and (floor := floor_registry.async_get_floor(area.floor_id)):
            floors[area.name] = floor.name
        entities.append(
            Entity(
                entity_id=state.entity_id,
                name=state.name,
                state=state.state,
                attributes=dict(state.attributes),
                area=area.name if area else None,
                aliases=aliases,
                last_changed=state.last_changed.timestamp(),
            )
        )
    return Home(in_prompt_order(entities), temperature_unit=hass.config.units.temperature_unit, floors=floors)


def area_of_device(hass: HomeAssistant, device_id: str | None) -> str | None:
    """The area of the satellite or device the user spoke through, if any."""
    if not device_id or not (device := dr.async_get(hass).async_get(device_id)) or not device.area_id:
        return None
    area = ar.async_get(hass).async_get_area(device.area_id)
    return area.name if area else None
