"""One request built to fit the model's context, whatever the size of the home.

The agent and the evaluator both build through build_fitting_request, so a big home is measured
as it is answered. When the whole home fits (nearly always: a token covers at least one byte,
so a short prompt is known to fit without asking the tokenizer), the request is the one
home_format.build_request makes. Otherwise the home is cut to the devices most relevant to the
request (home_format.relevance) that fit beside the room kept for the reply; the grammar and
validation then see only the devices the model saw.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .home_format import Entity, Home, ModelRequest, build_request
from .home_format.relevance import keep_only, rank_by_relevance

# The few tokens a chat template may add that the prompt text doesn't show (a BOS).
_SPECIAL_TOKENS_MARGIN = 8


class ContextTooSmallError(ValueError):
    """Not even a home with no devices fits the context beside the reply."""


@dataclass(frozen=True)
class FittedRequest:
    request: ModelRequest
    home: Home  # the devices the prompt shows (validate the reply against these)
    left_out: list[Entity] = field(default_factory=list)  # least relevant first dropped, most relevant first listed
    prompt_tokens: int | None = None  # when counted


async def build_fitting_request(
    home: Home,
    text: str,
    *,
    count_tokens: Callable[[str], Awaitable[int]],
    context_length: int,
    reply_tokens: int,
    user_area: str | None = None,
    history: Sequence[tuple[str, str]] = (),
    **build_options: Any,
) -> FittedRequest:
    """The request for this home, or for its most relevant part when the whole doesn't fit in
    context_length tokens with reply_tokens left for the answer."""

    def build(part: Home) -> ModelRequest:
        return build_request(part, text, user_area=user_area, history=history, **build_options)

    available = context_length - reply_tokens
    request = build(home)
    if len(request.prompt.encode("utf-8")) + _SPECIAL_TOKENS_MARGIN <= available:
        return FittedRequest(request, home)
    total = await count_tokens(request.prompt)
    if total <= available:
        return FittedRequest(request, home, prompt_tokens=total)

    empty = build(keep_only(home, []))
    fixed = await count_tokens(empty.prompt)
    if fixed > available:
        raise ContextTooSmallError(
            f"the prompt is {fixed} tokens without any device, the context {context_length} with "
            f"{reply_tokens} kept for the answer: raise the context length or lower the answer's maximum tokens"
        )
    ranked = rank_by_relevance(home, text, user_area=user_area, history=[said for _, said in history])
    per_device = (total - fixed) / len(home.entities)
    keep = min(len(ranked) - 1, int((available - fixed) / per_device))
    while keep > 0:
        part = keep_only(home, ranked[:keep])
        request = build(part)
        tokens = await count_tokens(request.prompt)
        if tokens <= available:
            return FittedRequest(request, part, ranked[keep:], tokens)
        # Shrink in proportion to the overshoot (the kept devices cost more than the average).
        keep = min(keep - 1, int(keep * (available - fixed) / (tokens - fixed)))
    request = build(keep_only(home, []))
    return FittedRequest(request, keep_only(home, []), ranked, fixed)
