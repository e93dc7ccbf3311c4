"""Conversation platform: one agent entity per conversation subentry."""

from __future__ import annotations

from typing import Literal

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import HomeLLMConfigEntry
from .const import SUBENTRY_CONVERSATION
from .entity import HomeLLMEntity
from .home_llm_core.worker_client import ModelWorker
from .prompt_cache import PromptCacheWarmer


async def async_setup_entry(
    hass: HomeAssistant, entry: HomeLLMConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_CONVERSATION:
            async_add_entities([HomeLLMConversationEntity(entry, subentry)], config_subentry_id=subentry.subentry_id)


class HomeLLMConversationEntity(conversation.ConversationEntity, conversation.AbstractConversationAgent, HomeLLMEntity):
    """The Home LLM conversation agent: renders the exposed home into a prompt, asks the model
    worker, and runs only what validates."""

    # It controls devices, so "prefer handling commands locally" can sit in front of it.
    _attr_supported_features = conversation.ConversationEntityFeature.CONTROL
    # The reply reaches Assist through the chat log's delta stream (entity.py's _async_record).
    _attr_supports_streaming = True
    prompt_cache: PromptCacheWarmer | None = None

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        conversation.async_set_agent(self.hass, self.entry, self)
        worker = self.entry.runtime_data.worker
        if isinstance(worker, ModelWorker):  # a remote engine keeps its own prompt cache
            self.prompt_cache = PromptCacheWarmer(self.hass, worker, self._async_prompt_prefix)
            self.async_on_remove(self.prompt_cache.async_start())

    async def async_will_remove_from_hass(self) -> None:
        conversation.async_unset_agent(self.hass, self.entry)
        await super().async_will_remove_from_hass()

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        # The prompt, the in-context examples and the composed replies are English (so is the
        # bundled adapter's training data): Assist offers the agent to English pipelines only.
        return ["en"]

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        return await self._async_answer(user_input, chat_log)
