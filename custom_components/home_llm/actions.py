"""Runs validated calls in Home Assistant with the user's context and reports each result."""

from __future__ import annotations

from dataclasses import dataclass

import voluptuous as vol
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .const import LOGGER
from .home_llm_core.home_format import ServiceCall


@dataclass(frozen=True)
class CallResult:
    call: ServiceCall
    error: str | None  # None: it ran

    @property
    def ok(self) -> bool:
        return self.error is None


async def async_run_calls(hass: HomeAssistant, calls: list[ServiceCall], context: Context) -> list[CallResult]:
    results = []
    for call in calls:
        if not hass.services.has_service(call.domain, call.service):
            results.append(CallResult(call, f"Home Assistant has no {call.name} action."))
            continue
        try:
            # The user's context, so the logbook shows who asked for it.
            await hass.services.async_call(
                call.domain, call.service, {"entity_id": call.entity_id, **call.data}, blocking=True, context=context
            )
        except (HomeAssistantError, vol.Invalid, ValueError) as err:
            LOGGER.warning("%s on %s failed: %s", call.name, call.entity_id, err)
            results.append(CallResult(call, str(err) or type(err).__name__))
        else:
            LOGGER.debug("Ran %s on %s with %s", call.name, call.entity_id, dict(call.data))
            results.append(CallResult(call, None))
    return results
