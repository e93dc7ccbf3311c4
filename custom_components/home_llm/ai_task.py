"""AI Task platform: one entity per AI task subentry that generates data for automations and
scripts (ai_task.generate_data): free text, or a JSON object with the requested structure,
written under a grammar that admits only that structure and checked before it is returned."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.components import ai_task, conversation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import selector
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import HomeLLMConfigEntry
from .const import (
    AI_TASK_MAX_TOKENS,
    CONF_TEMPERATURE,
    DEFAULT_AI_TASK_OPTIONS,
    DOMAIN,
    LOGGER,
    SUBENTRY_AI_TASK,
)
from .entity import HomeLLMEntity
from .home_llm_core.defaults import DEFAULT_TOP_K, DEFAULT_TOP_P
from .home_llm_core.home_format import render_chat, stop_strings
from .home_llm_core.home_format.structured import (
    StructureError,
    StructureField,
    parse_structured,
    structure_grammar,
    structure_prompt,
)
from .home_llm_core.worker_client import WorkerBusyError, WorkerError

# The fewest tokens worth generating: a task whose prompt leaves less room is refused up front.
MIN_ANSWER_TOKENS = 32

# Selectors whose value is one string: asked for as text; Home Assistant's own validation of
# the structure then checks the form (an entity id, a date).
_TEXT_SELECTORS = {"area", "date", "datetime", "device", "entity", "floor", "icon", "label", "template", "time"}


async def async_setup_entry(
    hass: HomeAssistant, entry: HomeLLMConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_AI_TASK:
            async_add_entities([HomeLLMTaskEntity(entry, subentry)], config_subentry_id=subentry.subentry_id)


class HomeLLMTaskEntity(ai_task.AITaskEntity, HomeLLMEntity):
    """Generates data with the entry's model: the task's instructions in the model's chat
    template; with a structure, under its grammar, and validated."""

    _attr_supported_features = ai_task.AITaskEntityFeature.GENERATE_DATA

    @property
    def task_options(self) -> dict[str, Any]:
        return {**DEFAULT_AI_TASK_OPTIONS, **self.subentry.data}

    async def _async_generate_data(self, task: ai_task.GenDataTask, chat_log: conversation.ChatLog) -> ai_task.GenDataTaskResult:
        structure = task.structure
        fields = structure_fields(structure) if structure is not None else None
        runtime = self.entry.runtime_data
        system, turns = _chat_parts(chat_log)
        if fields is not None:
            system = f"{system}\n\n{structure_prompt(fields)}" if system else structure_prompt(fields)
        try:
            prompt = render_chat(runtime.chat_template, system, turns, runtime.gguf_chat_template)
        except ValueError as err:  # the model file has no chat template and none was chosen
            raise _failed(err) from err
        text = await self._async_complete(prompt, structure_grammar(fields) if fields is not None else None)
        data: Any = text
        if structure is not None and fields is not None:
            try:
                data = parse_structured(text, fields)
                # Home Assistant's validators have the last word (an entity id's form, a range's exclusive end).
                structure(data)
            except (StructureError, vol.Invalid) as err:
                LOGGER.warning("Task %r: the model's output doesn't fit the structure (%s): %r", task.name, err, text)
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="structure_not_followed",
                    translation_placeholders={"error": str(err)},
                ) from err
        chat_log.async_add_assistant_content_without_tools(conversation.AssistantContent(agent_id=self.entity_id, content=text))
        return ai_task.GenDataTaskResult(conversation_id=chat_log.conversation_id, data=data)

    async def _async_complete(self, prompt: str, grammar: str | None) -> str:
        """The model's completion of the prompt, with as many tokens as the context leaves (at
        most AI_TASK_MAX_TOKENS). Raises HomeAssistantError (translated) when the worker fails."""
        worker = self.entry.runtime_data.worker
        LOGGER.debug("Task prompt:\n%s", prompt)
        try:
            context = worker.context_length or worker.n_ctx
            room = context - await worker.count_tokens(prompt)
            if room < MIN_ANSWER_TOKENS:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="task_too_long",
                    translation_placeholders={"tokens": str(context - room), "context": str(context)},
                )
            result = await worker.generate(
                prompt,
                grammar=grammar,
                max_tokens=min(AI_TASK_MAX_TOKENS, room),
                temperature=self.task_options[CONF_TEMPERATURE],
                top_p=DEFAULT_TOP_P,
                top_k=DEFAULT_TOP_K,
                stop=list(stop_strings(self.entry.runtime_data.chat_template)),
            )
        except WorkerBusyError as err:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="model_busy") from err
        except WorkerError as err:
            self._update_failing_issue()
            raise _failed(err) from err
        self._update_failing_issue()
        LOGGER.debug("Task output (%s): %r", result.stats, result.text)
        return result.text.strip()


def _failed(err: Exception) -> HomeAssistantError:
    LOGGER.error("AI task failed: %s", err)
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key="generation_failed", translation_placeholders={"error": str(err)}
    )


def _chat_parts(chat_log: conversation.ChatLog) -> tuple[str, list[tuple[str, str]]]:
    """The system prompt Home Assistant wrote for the task, and the turns: the task's
    instructions, after whatever the session said before."""
    system = ""
    turns: list[tuple[str, str]] = []
    for content in chat_log.content:
        if isinstance(content, conversation.SystemContent):
            system = content.content
        elif isinstance(content, conversation.UserContent):
            turns.append(("user", content.content))
        elif isinstance(content, conversation.AssistantContent) and content.content:
            turns.append(("assistant", content.content))
    return system, turns


def _unsupported(name: str, reason: str) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="structure_unsupported",
        translation_placeholders={"field": name, "error": reason},
    )


def structure_fields(structure: vol.Schema) -> list[StructureField]:
    """The fields of Home Assistant's structure (a schema of selectors, or of plain validators
    when a caller wrote one) as the model is asked for them.

    Raises HomeAssistantError (structure_unsupported) for a field Home LLM can't ask for.
    """
    if not isinstance(structure.schema, dict):
        raise _unsupported("", "the structure is not a set of named fields")
    fields = []
    for key, validator in structure.schema.items():
        if isinstance(key, vol.Marker):
            name, required, description = key.schema, isinstance(key, vol.Required), key.description
        else:
            name, required, description = key, structure.required, None
        if not isinstance(name, str):
            raise _unsupported(str(name), "a field's name must be a text")
        try:
            kind = _kind_of(validator)
            fields.append(StructureField(name, required=required, description=str(description or ""), **kind))
        except ValueError as err:
            raise _unsupported(name, str(err)) from err
    return fields


def _kind_of(validator: Any) -> dict[str, Any]:
    """StructureField arguments for one field's validator. Raises ValueError when unsupported."""
    if isinstance(validator, selector.Selector):
        config = validator.config
        multiple = bool(config.get("multiple", False))
        if isinstance(validator, selector.BooleanSelector):
            return {"kind": "boolean"}
        if isinstance(validator, selector.NumberSelector):
            # The selector's step only shapes its slider: Home Assistant takes any number.
            return {"kind": "number", "minimum": config.get("min"), "maximum": config.get("max")}
        if isinstance(validator, selector.SelectSelector):
            options = tuple(o["value"] if isinstance(o, dict) else o for o in config["options"])
            return {"kind": "select", "options": options, "multiple": multiple}
        if isinstance(validator, selector.TextSelector) or validator.selector_type in _TEXT_SELECTORS:
            return {"kind": "text", "multiple": multiple}
        raise ValueError(f"a {validator.selector_type} selector is not supported")
    plain: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "text"}
    if isinstance(validator, type) and validator in plain:
        return {"kind": plain[validator]}
    if validator is cv.boolean:
        return {"kind": "boolean"}
    if validator is cv.string:
        return {"kind": "text"}
    if isinstance(validator, vol.Coerce) and validator.type in (int, float):
        return {"kind": "integer" if validator.type is int else "number"}
    if isinstance(validator, vol.In) and isinstance(validator.container, list | tuple | set | frozenset | dict):
        options = tuple(validator.container)
        if all(isinstance(o, str) for o in options):
            return {"kind": "select", "options": tuple(sorted(options)) if isinstance(validator.container, set) else options}
    if isinstance(validator, vol.All):
        # A kind and bounds: vol.All(vol.Coerce(int), vol.Range(min=0, max=10)), cv.positive_int.
        kind: dict[str, Any] = {}
        for inner in validator.validators:
            if isinstance(inner, vol.Range):
                kind |= {"minimum": inner.min, "maximum": inner.max}
            else:
                kind = _kind_of(inner) | kind
        if "kind" in kind:
            return kind
    raise ValueError(f"{validator!r} is not supported")
