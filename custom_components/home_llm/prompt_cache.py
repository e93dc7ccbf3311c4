"""Keeps the model worker's KV cache warm for the next request.

The prompt lists states oldest change first, so a device that changes moves to the end and the
next request processes the prompt again from that device's old line on: in a big home most of
the prompt. Here that work is done when the state changes, before anyone speaks: a moment after
exposed states stop changing (and once at start), the beginning that every next request's prompt
shares is rendered and sent to the worker as a prefill, which runs only when the worker is idle
and gives way to the next real request (what it evaluated by then stays cached).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeassistant.components.conversation import DOMAIN as CONVERSATION_DOMAIN
from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer

from .const import LOGGER
from .home_llm_core.worker_client import ModelWorker, WorkerError

# Quiet time after the last state change before the prompt is processed again: a scene or a
# start-up changes many states at once, and each would otherwise start a prefill.
SETTLE_S = 1.0


class PromptCacheWarmer:
    """Prefills the worker with the prompt's shared beginning after exposed states change."""

    def __init__(self, hass: HomeAssistant, worker: ModelWorker, prompt_prefix: Callable[[], Awaitable[str | None]]) -> None:
        self._hass = hass
        self._worker = worker
        self._prompt_prefix = prompt_prefix
        self._debouncer = Debouncer(hass, LOGGER, cooldown=SETTLE_S, immediate=False, function=self._async_warm, background=True)
        self.warmed = 0  # prefills that ran to their end

    @callback
    def async_start(self) -> Callable[[], None]:
        """Warm once now and after every later change; returns what stops it."""
        unsubscribe = self._hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed, event_filter=self._exposed)
        self._debouncer.async_schedule_call()

        @callback
        def stop() -> None:
            unsubscribe()
            self._debouncer.async_shutdown()

        return stop

    @callback
    def _exposed(self, event_data: EventStateChangedData) -> bool:
        return async_should_expose(self._hass, CONVERSATION_DOMAIN, event_data["entity_id"])

    @callback
    def _changed(self, _event: Event[EventStateChangedData]) -> None:
        self._debouncer.async_schedule_call()

    async def _async_warm(self) -> None:
        if not self._worker.running:  # never starts the model for this
            return
        try:
            prefix = await self._prompt_prefix()
            stats = await self._worker.prefill(prefix) if prefix else None
        except (WorkerError, ValueError) as err:
            LOGGER.debug("Prompt cache not warmed: %s", err)
            return
        if stats is not None:
            self.warmed += 1
            LOGGER.debug(
                "Prompt cache warmed: %s of %s prompt tokens processed ahead of the next request in %.2f s",
                stats["evaluated_tokens"],
                stats["prompt_tokens"],
                stats["seconds"],
            )
