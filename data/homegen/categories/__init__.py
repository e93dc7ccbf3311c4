"""The eight kinds of example. Each builder makes one from a home, or returns None when
this home can't support it (the caller then tries another home)."""

from __future__ import annotations

from collections.abc import Callable

from ..requests import Example, Request
from .commands import area, multi_device, single_device
from .conversations import chit_chat, follow_up
from .questions import status
from .refusals import ambiguity, refusal

# Share of each category in a split (the stats report counts them).
CATEGORY_WEIGHTS = {
    "single_device": 0.36,
    "area": 0.12,
    "multi_device": 0.10,
    "status": 0.13,
    "refusal": 0.10,
    "ambiguity": 0.04,
    "follow_up": 0.10,
    "chit_chat": 0.05,
}

BUILDERS: dict[str, Callable[[Request], Example | None]] = {
    "single_device": single_device,
    "area": area,
    "multi_device": multi_device,
    "status": status,
    "refusal": refusal,
    "ambiguity": ambiguity,
    "follow_up": follow_up,
    "chit_chat": chit_chat,
}
assert set(BUILDERS) == set(CATEGORY_WEIGHTS)
