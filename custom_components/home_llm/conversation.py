"""Conversation platform: one agent entity per conversation subentry."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import HomeLLMConfigEntry
from .const import SUBENTRY_CONVERSATION
from .entity import HomeLLMConversationEntity


async def async_setup_entry(
    hass: HomeAssistant, entry: HomeLLMConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_CONVERSATION:
            async_add_entities([HomeLLMConversationEntity(entry, subentry)], config_subentry_id=subentry.subentry_id)
