"""The model's reply to one request, as the agent and the evaluator both get it.

One generation under the request's grammar; in the v2 format, a sentence that should have been
calls (home_format/ask_back.py: a question back the home does not warrant, "Which kitchen light
do you mean?" with one Kitchen Light, or an action claimed without its call, "Turned on the Bed
Light.") is followed by a second generation whose grammar admits only calls on the device the
sentence named. The prompt is the same, so the second costs only its decoding.
"""

from __future__ import annotations

from typing import Any

from .home_format import Home, ModelRequest, build_grammar, parse_reply
from .home_format.ask_back import claimed_device, named_device
from .home_format.relevance import keep_only
from .worker_client import GenerationResult


async def generate_reply(worker: Any, home: Home, request: ModelRequest, **sampling: Any) -> GenerationResult:
    """worker: a ModelWorker or anything with its generate(); sampling: max_tokens, temperature, ..."""
    result = await worker.generate(request.prompt, grammar=request.grammar, stop=list(request.stop), **sampling)
    if not request.calls_only or request.grammar is None:
        return result
    parsed = parse_reply(result.text)
    device = None if parsed.calls else named_device(home, parsed.sentence) or claimed_device(home, parsed.sentence)
    if device is None:
        return result
    grammar = build_grammar(keep_only(home, [device]), calls_only=True, act=True)
    if "call ::=" not in grammar:  # a device with no service to call (a sensor): the question stands
        return result
    again = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
    return GenerationResult(text=again.text, stats={**again.stats, "instead_of_calls": result.text})
