"""The model's reply to one request, as the agent and the evaluator both get it.

One generation under the request's grammar; in the v2 format, a sentence that should have been
something else (home_format/ask_back.py) is followed by a second generation on the same prompt,
which costs only its decoding:
- a question back the home does not warrant ("Which kitchen light do you mean?" with one Kitchen
  Light): asked again with a grammar that admits calls on that device or a sentence that begins
  as an answer or a refusal does (the request may be a question, or a command with nothing to
  do: "The Kitchen Light is already on."); a refusal the home contradicts ("already locked"
  while unlocked) is asked a third time, for calls alone;
- an action claimed without its call ("Turned on the Bed Light.", nothing ran): asked again for
  calls on that device alone.
"""

from __future__ import annotations

from typing import Any

from .home_format import Home, ModelRequest, build_grammar, parse_reply
from .home_format.ask_back import ANSWER_STARTS, claimed_device, false_already, named_device
from .home_format.relevance import keep_only
from .worker_client import GenerationResult


async def generate_reply(worker: Any, home: Home, request: ModelRequest, **sampling: Any) -> GenerationResult:
    """worker: a ModelWorker or anything with its generate(); sampling: max_tokens, temperature, ..."""
    result = await worker.generate(request.prompt, grammar=request.grammar, stop=list(request.stop), **sampling)
    if not request.calls_only or request.grammar is None:
        return result
    parsed = parse_reply(result.text)
    if parsed.calls:
        return result
    if asked := named_device(home, parsed.sentence):
        grammar = build_grammar(keep_only(home, [asked]), calls_only=True, sentence_starts=ANSWER_STARTS)
    elif claimed := claimed_device(home, parsed.sentence):
        grammar = build_grammar(keep_only(home, [claimed]), calls_only=True, act=True)
    else:
        return result
    if "call ::=" not in grammar:  # a device with no service to call (a sensor): the sentence stands
        return result
    again = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
    answer = parse_reply(again.text)
    if asked and not answer.calls and false_already(asked, answer.sentence):
        # "The Front Door is already locked." while it is unlocked: the home says otherwise.
        grammar = build_grammar(keep_only(home, [asked]), calls_only=True, act=True)
        again = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
    return GenerationResult(text=again.text, stats={**again.stats, "instead_of_calls": result.text})
