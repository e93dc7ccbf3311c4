"""The Home LLM conversation agent: renders the exposed home into a prompt, asks the model
worker, and runs only what validates."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent, llm
from homeassistant.util import dt as dt_util

from . import HomeLLMConfigEntry
from .actions import async_run_calls
from .const import (
    CONF_EXTRA_ATTRIBUTES,
    CONF_IN_CONTEXT_EXAMPLES,
    CONF_MAX_TOKENS,
    CONF_PROMPT_PRESET,
    CONF_REMEMBER_TURNS,
    CONF_TEMPERATURE,
    CONF_TOP_K,
    CONF_TOP_P,
    CONF_USE_GRAMMAR,
    DEFAULT_AGENT_OPTIONS,
    DOMAIN,
    LOGGER,
)
from .exposed_home import area_of_device, snapshot_home
from .home_llm_core.home_format import build_request, interpret_reply
from .home_llm_core.worker_client import WorkerError
from .replies import compose_reply


class HomeLLMConversationEntity(conversation.ConversationEntity, conversation.AbstractConversationAgent):
    _attr_has_entity_name = True
    _attr_name = None
    # It controls devices, so "prefer handling commands locally" can sit in front of it.
    _attr_supported_features = conversation.ConversationEntityFeature.CONTROL

    def __init__(self, entry: HomeLLMConfigEntry, subentry: ConfigSubentry) -> None:
        self.entry = entry
        self.subentry = subentry
        self._attr_unique_id = subentry.subentry_id
        self._attr_device_info = dr.DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer="Home LLM",
            model=entry.title,
            entry_type=dr.DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        conversation.async_set_agent(self.hass, self.entry, self)

    async def async_will_remove_from_hass(self) -> None:
        conversation.async_unset_agent(self.hass, self.entry)
        await super().async_will_remove_from_hass()

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        # The prompt, the in-context examples and the composed replies are English.
        return ["en"]

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        options = {**DEFAULT_AGENT_OPTIONS, **self.subentry.data}
        runtime = self.entry.runtime_data

        home = snapshot_home(self.hass)
        asked_at = time.monotonic()
        try:
            request = build_request(
                home,
                user_input.text,
                now=dt_util.now(),
                chat_template=runtime.chat_template,
                gguf_chat_template=runtime.gguf_chat_template,
                preset=options[CONF_PROMPT_PRESET],
                user_area=area_of_device(self.hass, user_input.device_id),
                examples=options[CONF_IN_CONTEXT_EXAMPLES],
                history=_earlier_turns(chat_log, options[CONF_REMEMBER_TURNS]),
                attributes=tuple(options[CONF_EXTRA_ATTRIBUTES]),
                use_grammar=options[CONF_USE_GRAMMAR],
            )
            LOGGER.debug("Prompt:\n%s", request.prompt)
            result = await runtime.worker.generate(
                request.prompt,
                grammar=request.grammar,
                max_tokens=options[CONF_MAX_TOKENS],
                temperature=options[CONF_TEMPERATURE],
                top_p=options[CONF_TOP_P],
                top_k=options[CONF_TOP_K],
                stop=list(request.stop),
            )
        except asyncio.CancelledError:
            # Home Assistant cancels the request when its caller goes away (the browser
            # closed its websocket, a satellite hung up): say so, nothing was done.
            LOGGER.warning(
                "Request %r (conversation %s) was abandoned by its caller after %.1f s, "
                "before the model answered; nothing was done",
                user_input.text,
                chat_log.conversation_id,
                time.monotonic() - asked_at,
            )
            raise
        except (WorkerError, ValueError) as err:
            LOGGER.error("Generation failed: %s", err)
            return _error_result(user_input, chat_log, f"Sorry, the language model failed: {err}")
        LOGGER.debug("Model output (%s): %r", result.stats, result.text)

        interpretation = interpret_reply(home, result.text)
        for rejection in interpretation.rejected:
            LOGGER.info("Refused %s on %s: %s", rejection.call.service, rejection.call.target, rejection.reason)
        results = await async_run_calls(self.hass, interpretation.calls, user_input.context)
        reply = compose_reply(home, interpretation, results)

        # The calls and their results go into the chat log, so the Assist debug view shows them.
        tool_calls = [
            llm.ToolInput(tool_name=r.call.name, tool_args={"entity_id": r.call.entity_id, **r.call.data}, external=True)
            for r in results
        ]
        if tool_calls:
            chat_log.async_add_assistant_content_without_tools(
                conversation.AssistantContent(
                    agent_id=self.entity_id, content=interpretation.parsed.sentence or None, tool_calls=tool_calls
                )
            )
            for tool_call, call_result in zip(tool_calls, results, strict=True):
                chat_log.async_add_assistant_content_without_tools(
                    conversation.ToolResultContent(
                        agent_id=self.entity_id,
                        tool_call_id=tool_call.id,
                        tool_name=tool_call.tool_name,
                        tool_result={"success": call_result.ok, "error": call_result.error},
                    )
                )
        chat_log.async_add_assistant_content_without_tools(conversation.AssistantContent(agent_id=self.entity_id, content=reply))
        return conversation.async_get_result_from_chat_log(user_input, chat_log)


def _earlier_turns(chat_log: conversation.ChatLog, remember: int) -> list[tuple[str, str]]:
    """Up to `remember` earlier exchanges of this conversation (user words, final replies)."""
    turns: list[tuple[str, str]] = []
    for content in chat_log.content[:-1]:  # the last one is the message being answered
        if isinstance(content, conversation.UserContent):
            turns.append(("user", content.content))
        elif isinstance(content, conversation.AssistantContent) and content.content and not content.tool_calls:
            turns.append(("assistant", content.content))
    return turns[-2 * remember :] if remember else []


def _error_result(
    user_input: conversation.ConversationInput, chat_log: conversation.ChatLog, message: str
) -> conversation.ConversationResult:
    response = intent.IntentResponse(language=user_input.language)
    response.async_set_error(intent.IntentResponseErrorCode.UNKNOWN, message)
    return conversation.ConversationResult(response=response, conversation_id=chat_log.conversation_id)
