"""Base entity of Home LLM: what every Home LLM entity shares (its device, its config entry
and subentry) and the request loop that answers one message: build, generate, act, record."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent, llm
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity import Entity
from homeassistant.util import dt as dt_util

from . import HomeLLMConfigEntry
from .actions import CallResult, async_run_calls
from .const import (
    CONF_CONFIRM_RISKY_ACTIONS,
    CONF_EXTRA_ATTRIBUTES,
    CONF_IN_CONTEXT_EXAMPLES,
    CONF_MAX_TOKENS,
    CONF_PROMPT_PRESET,
    CONF_REMEMBER_TURNS,
    CONF_TEMPERATURE,
    CONF_TOP_K,
    CONF_TOP_P,
    CONF_USE_GRAMMAR,
    DOMAIN,
    LOGGER,
    agent_defaults,
)
from .exposed_home import area_of_device, snapshot_home
from .home_llm_core.context_fit import FittedRequest, build_fitting_request
from .home_llm_core.generation import generate_reply
from .home_llm_core.home_format import (
    Home,
    Interpretation,
    ModelRequest,
    ParsedReply,
    ServiceCall,
    interpret_reply,
    to_model_call,
    validate_calls,
)
from .home_llm_core.home_format.risky import confirmation_question, risky_verb, yes_or_no
from .home_llm_core.worker_client import FAILURES_BEFORE_BACKOFF, GenerationResult, WorkerBusyError, WorkerError
from .replies import compose_reply

# Stands for the request's words where the prompt's shared beginning is rendered.
_REQUEST_MARK = "\x1frequest\x1f"
# How long a risky action waits for its yes.
CONFIRMATION_WINDOW_S = 120.0
DECLINED = "Okay, I left it as it was."


@dataclass(frozen=True, slots=True)
class PendingCalls:
    """Risky calls that wait for the user's yes in one conversation (home_format/risky.py)."""

    calls: list[ServiceCall]
    asked_at: float  # time.monotonic()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What acting on the model's output gave: what it asked for, what ran, what the user hears."""

    interpretation: Interpretation
    results: list[CallResult]
    reply: str


# What the agent did with the model's first reply (generation.py's stats key -> the log's words).
_RULE_LOGS = {
    "instead_of_calls": (
        ", which the home doesn't warrant (a question back about a device named exactly or one the place "
        "settles, an action claimed without its call, or a sentence about nothing in the home); asked again: %r"
    ),
    "unfit_already": (
        ", an 'already' answer to a command that the home's state or the request's words contradict; "
        "asked again for calls on the devices the request points at: %r"
    ),
    "unrelated_calls": (
        ", with calls on devices the request doesn't point at by name, area or kind; those are not run "
        "(the reply without them, or asked again over the devices it names): %r"
    ),
    "group_calls": " for a command on a group in a place; it runs on every member there not in that state yet: %r",
    "group_elsewhere": (
        " for a follow-up that names only another area after a group command; it is that command there, "
        "on every member not in that state yet: %r"
    ),
    "twin_calls": (
        " calling a device whose name another device shares; the request's place, alias or the speaker's "
        "area settles which, or, with nothing to settle it, the reply asks which one: %r"
    ),
    "said_values": (
        "; the values and actions the request says in words (colours, whites, percentages, degrees, durations, "
        "list items; pause, skip, mute, dock, arm away, ...; a change by an amount from the current value) "
        "replace its own: %r"
    ),
    "no_op_calls": "; calls that change nothing (the device is already in that state) are not run: %r",
    "idle_calls": (
        " with calls that change nothing on a device the request asks the opposite state of; asked again for "
        "calls without them: %r"
    ),
    "status_facts": (", a status answer whose device, state or value the home contradicts; the answer says the home's own: %r"),
}


class HomeLLMEntity(Entity):
    """An entity of one Home LLM subentry, on the model of its config entry."""

    _attr_has_entity_name = True
    _attr_name = None

    def __init__(self, entry: HomeLLMConfigEntry, subentry: ConfigSubentry) -> None:
        self.entry = entry
        self._pending: dict[str, PendingCalls] = {}  # conversation id -> calls waiting for a yes
        self._user_area: str | None = None  # where the last request was spoken
        self.subentry = subentry
        self._attr_unique_id = subentry.subentry_id
        self._attr_device_info = dr.DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer="Home LLM",
            model=entry.title,
            entry_type=dr.DeviceEntryType.SERVICE,
        )

    @property
    def agent_options(self) -> dict[str, Any]:
        """The subentry's settings over the defaults (a subentry may predate an option)."""
        return {**agent_defaults(self.entry.data), **self.subentry.data}

    async def _async_answer(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        """Answer one message: build the request, generate, act on the output, record it."""
        options = self.agent_options
        asked_at = time.monotonic()
        pending = self._pending.pop(chat_log.conversation_id, None)
        if pending and asked_at - pending.asked_at < CONFIRMATION_WINDOW_S:
            answer = yes_or_no(user_input.text)
            if answer is not None:  # anything else is a new request, and the question lapses
                await self._async_record(chat_log, await self._async_confirmed(pending, answer, user_input.context))
                return conversation.async_get_result_from_chat_log(user_input, chat_log)
        try:
            home, request = await self._async_build(user_input, chat_log, options)
            output = await self._async_generate(home, request, options, user_input, chat_log, asked_at)
            outcome = await self._async_act(
                home, output.text, user_input.context, chat_log.conversation_id, options[CONF_CONFIRM_RISKY_ACTIONS]
            )
        except HomeAssistantError as err:
            # A voice user must hear something: the translated message is the answer.
            return _error_result(user_input, chat_log, str(err))
        except Exception as err:
            # Whatever goes wrong inside one request (a bug, a home stranger than we thought of)
            # is that request's answer, with the cause in the log, not a traceback for the caller.
            LOGGER.exception("Request %r (conversation %s) failed", user_input.text, chat_log.conversation_id)
            failed = HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="request_failed",
                translation_placeholders={"error": f"{type(err).__name__}: {err}"},
            )
            return _error_result(user_input, chat_log, str(failed))
        await self._async_record(chat_log, outcome)
        return conversation.async_get_result_from_chat_log(user_input, chat_log)

    async def _async_build(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog, options: dict[str, Any]
    ) -> tuple[Home, ModelRequest]:
        """The exposed home as the model will see it (its most relevant part when the whole
        doesn't fit the context) and the model request for it under the agent's options.

        Raises HomeAssistantError (generation_failed) when no prompt can be rendered.
        """
        self._user_area = area_of_device(self.hass, user_input.device_id)
        history = _earlier_turns(chat_log, options[CONF_REMEMBER_TURNS])
        try:
            fitted = await self._async_fit(user_input.text, self._user_area, history, options)
        except ValueError as err:  # e.g. the model file has no chat template and none was chosen
            raise _generation_failed(err) from err
        except WorkerBusyError as err:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="model_busy") from err
        except WorkerError as err:
            self._update_failing_issue()
            raise _generation_failed(err) from err
        if fitted.left_out:
            worker = self.entry.runtime_data.worker
            LOGGER.debug(
                "The exposed home (%d devices) does not fit the context of %s tokens; the %d most relevant to %r "
                "are shown (%s prompt tokens), left out: %s",
                len(fitted.home.entities) + len(fitted.left_out),
                worker.context_length or worker.n_ctx,
                len(fitted.home.entities),
                user_input.text,
                fitted.prompt_tokens,
                ", ".join(e.entity_id for e in fitted.left_out),
            )
        LOGGER.debug("Prompt:\n%s", fitted.request.prompt)
        return fitted.home, fitted.request

    async def _async_fit(
        self, text: str, user_area: str | None, history: list[tuple[str, str]], options: dict[str, Any]
    ) -> FittedRequest:
        """The request for text in the exposed home as it is now."""
        runtime = self.entry.runtime_data
        worker = runtime.worker
        return await build_fitting_request(
            snapshot_home(self.hass),
            text,
            count_tokens=worker.count_tokens,
            context_length=worker.context_length or worker.n_ctx,
            reply_tokens=options[CONF_MAX_TOKENS],
            now=dt_util.now(),
            chat_template=runtime.chat_template,
            gguf_chat_template=runtime.gguf_chat_template,
            preset=options[CONF_PROMPT_PRESET],
            user_area=user_area,
            examples=options[CONF_IN_CONTEXT_EXAMPLES],
            history=history,
            attributes=tuple(options[CONF_EXTRA_ATTRIBUTES]),
            use_grammar=options[CONF_USE_GRAMMAR],
        )

    async def _async_prompt_prefix(self) -> str | None:
        """The beginning of the next request's prompt as the home stands now (a new conversation
        from the last speaker's area), for the prompt cache; None when it depends on the request
        (a home too big for the context is cut by relevance to the words)."""
        fitted = await self._async_fit(_REQUEST_MARK, self._user_area, [], self.agent_options)
        if fitted.left_out or _REQUEST_MARK not in fitted.request.prompt:
            return None
        return fitted.request.prompt.split(_REQUEST_MARK)[0]

    async def _async_generate(
        self,
        home: Home,
        request: ModelRequest,
        options: dict[str, Any],
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
        asked_at: float,
    ) -> GenerationResult:
        """The model's output for the request.

        Raises HomeAssistantError (generation_failed) when the worker fails, and
        CancelledError when the caller went away (logged: nothing was done).
        """
        try:
            result = await generate_reply(
                self.entry.runtime_data.worker,
                home,
                request,
                max_tokens=options[CONF_MAX_TOKENS],
                temperature=options[CONF_TEMPERATURE],
                top_p=options[CONF_TOP_P],
                top_k=options[CONF_TOP_K],
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
        except WorkerBusyError as err:
            LOGGER.warning("Request %r not answered: %s", user_input.text, err)
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="model_busy") from err
        except (WorkerError, ValueError) as err:
            self._update_failing_issue()
            raise _generation_failed(err) from err
        self._update_failing_issue()
        for key, what in _RULE_LOGS.items():
            if key in result.stats:
                LOGGER.info("The model wrote %r" + what, result.stats[key], result.text)
        LOGGER.debug("Model output (%s): %r", result.stats, result.text)
        return result

    def _update_failing_issue(self) -> None:
        """A repair issue while the model process keeps failing (it is then retried after
        growing pauses); removed by the next good answer."""
        worker = self.entry.runtime_data.worker
        issue_id = f"model_failing_{self.entry.entry_id}"
        if worker.failures < FAILURES_BEFORE_BACKOFF:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="model_failing",
            translation_placeholders={
                "entry": self.entry.title,
                "count": str(worker.failures),
                "error": worker.last_error or "unknown",
            },
        )

    async def _async_act(self, home: Home, output: str, context: Context, conversation_id: str, confirm_risky: bool) -> Outcome:
        """Run what validates of the model's output, with the user's context; log what was
        refused. With confirm_risky, risky calls wait for a yes and the reply asks for it."""
        interpretation = interpret_reply(home, output)
        for rejection in interpretation.rejected:
            LOGGER.info("Refused %s on %s: %s", rejection.call.service, rejection.call.target, rejection.reason)
        held = [c for c in interpretation.calls if confirm_risky and risky_verb(home, c)]
        results = await async_run_calls(self.hass, [c for c in interpretation.calls if c not in held], context)
        if not held:
            return Outcome(interpretation, results, compose_reply(home, interpretation, results))
        now = time.monotonic()
        # Questions nobody answered lapse; drop them so the map stays as small as the live ones.
        self._pending = {k: p for k, p in self._pending.items() if now - p.asked_at < CONFIRMATION_WINDOW_S}
        self._pending[conversation_id] = PendingCalls(held, now)
        LOGGER.info("Asking before %s", ", ".join(f"{c.name} on {c.entity_id}" for c in held))
        # The model's sentence may claim the held action as done: the reply says what ran, then asks.
        said = compose_reply(home, replace(interpretation, parsed=replace(interpretation.parsed, sentence="")), results)
        question = confirmation_question(home, held)
        return Outcome(interpretation, results, f"{said} {question}" if results or interpretation.rejected else question)

    async def _async_confirmed(self, pending: PendingCalls, answer: bool, context: Context) -> Outcome:
        """The user's yes or no to risky calls: on a yes they run if they still validate."""
        no_calls = ParsedReply(sentence="", calls=[], problems=[])
        if not answer:
            return Outcome(Interpretation(no_calls, [], []), [], DECLINED)
        home = snapshot_home(self.hass)  # the home may have changed since the question
        model_calls = [to_model_call(c) for c in pending.calls]
        calls, rejected = validate_calls(home, model_calls)
        interpretation = Interpretation(replace(no_calls, calls=model_calls), calls, rejected)
        results = await async_run_calls(self.hass, calls, context)
        return Outcome(interpretation, results, compose_reply(home, interpretation, results))

    async def _async_record(self, chat_log: conversation.ChatLog, outcome: Outcome) -> None:
        """Add the calls, their results and the reply to the chat log as a stream: the Assist
        debug view shows the calls, and Assist hears the reply a sentence at a time (a text-to-speech
        engine that takes streamed text starts on the first sentence of a long reply)."""
        async for _content in chat_log.async_add_delta_content_stream(self.entity_id, _deltas(outcome)):
            pass


_Delta = conversation.AssistantContentDeltaDict | conversation.ToolResultContentDeltaDict


async def _deltas(outcome: Outcome) -> AsyncIterator[_Delta]:
    """The outcome as chat log deltas: the calls that ran with their results, then the reply
    sentence by sentence. The model's own sentence is left out: only the reply is to be said."""
    tool_calls = [
        llm.ToolInput(tool_name=r.call.name, tool_args={"entity_id": r.call.entity_id, **r.call.data}, external=True)
        for r in outcome.results
    ]
    if tool_calls:
        yield {"role": "assistant", "tool_calls": tool_calls}
        for tool_call, call_result in zip(tool_calls, outcome.results, strict=True):
            yield {
                "role": "tool_result",
                "tool_call_id": tool_call.id,
                "tool_name": tool_call.tool_name,
                "tool_result": {"success": call_result.ok, "error": call_result.error},
            }
    yield {"role": "assistant"}
    for sentence in _SENTENCE_END.split(outcome.reply):
        if sentence:
            yield {"content": sentence}


# Where a reply splits into the pieces that are streamed (the space stays with the sentence before).
_SENTENCE_END = re.compile(r"(?<=[.!?] )")


def _generation_failed(err: Exception) -> HomeAssistantError:
    LOGGER.error("Generation failed: %s", err)
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key="generation_failed", translation_placeholders={"error": str(err)}
    )


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
