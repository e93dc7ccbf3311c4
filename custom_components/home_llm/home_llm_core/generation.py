"""The model's reply to one request, as the agent and the evaluator both get it.

One generation under the request's grammar; in the v2 format, a sentence that should have been
something else (home_format/ask_back.py) is followed by a second generation on the same prompt,
which costs only its decoding:
- a question back the home does not warrant ("Which kitchen light do you mean?" with one Kitchen
  Light; "Which fan: the Living Room Fan or the Bedroom Fan?" asked in the living room): asked
  again with a grammar that admits calls on that device or a sentence that begins as an answer
  or a refusal does (the request may be a question, or a command with nothing to
  do: "The Kitchen Light is already on."); a refusal the home or the request contradicts
  ("already locked" while unlocked, or to "unlock the door"; "I can't find a fan" about that fan)
  is asked a third time, for calls alone;
- an action claimed without its call ("Turned on the Bed Light.", nothing ran), or no such device
  claimed for a command whose words fit one ("I can't find a kitchen light." with one light in
  the kitchen): asked again for calls on that device alone;
- an "already" answer to a command that the home or the request contradicts ("The Echo is
  already playing." to "end the playback on the echo", "The Chandelier is already on." while it is
  off or to "invert the chandelier"): asked again for calls on that device when the request says
  its name, else on the devices the request points at; calls that change nothing then give the
  home's own "already" sentence;
- a sentence about nothing in the home ("Turned on the Sauna." with no sauna, "Which dishwasher
  do you mean: the Desk Fan or ...?"): asked again for a sentence that says there is no such
  device ("I can't find ..."), without calls.
A request of one clause that names one device by a name no other device has ("turn off the
office light") leaves nothing to ask back: a question back begun about it is stopped at its first
word ("Which") and asked again about that device, as above, without decoding the question.
Calls on devices the request doesn't point at (home_format/relevance.py: no word of its name,
area, floor or kind, not the speaker's area, not in the conversation) are dropped; when no call
is left, the model is asked again with only the devices the request points at (calls on them,
or a sentence). The calls of a group command ("turn off the lights upstairs") reach every member
of the group in the place it names (home_format/groups.py). A device the request names in a
clause of its own with no call on it ("put the security light on and colour the bedside lamp
coral", answered with one call) gets its calls written after the others, under a grammar of
only such devices. A value the request says outright (a colour, a white, a percentage, degrees,
a duration, a list item: home_format/said_values.py) replaces the model's reading of it, a change
by an amount ("a bit brighter") comes to the current value moved by its step, and an
action it says for the device's kind ("pause", "skip this song", "send it home") the model's
service. A call on one of several devices that share a name goes to the one the request's
place, alias or speaker's area settles; with nothing to settle it, the reply asks which one
(home_format/twins.py). Calls that would change nothing (turn off an off light) don't run; with
none left the reply says the device is already so, unless the request names the device and asks
for the opposite state ("bolt the patio door" answered with unlock while it is unlocked): then the
model is asked again for calls on that device, without those. Last, an answer in the data's status forms
("Yes, the Accent Light is off.", "The Desk Lamp is at 40%.") is held to the home: the device the
request names, its real state or value, and yes or no for the state asked about
(home_format/status.py).
"""

from __future__ import annotations

from typing import Any

from .home_format import (
    Entity,
    Home,
    ModelCall,
    ModelRequest,
    ServiceCall,
    build_grammar,
    parse_reply,
    render_reply,
    validate_calls,
)
from .home_format.ask_back import (
    ANSWER_STARTS,
    NOT_FOUND_STARTS,
    asks_the_opposite,
    baseless,
    claimed_device,
    false_already,
    false_missing,
    missing_yet_there,
    named_device,
    settled_device,
    unfit_already,
)
from .home_format.confirm import already
from .home_format.domains import changes_nothing
from .home_format.groups import group_elsewhere, on_every_member, whole_group, whole_group_members
from .home_format.relevance import distinctive_words, keep_only, named_alone, named_without_call, words
from .home_format.said_values import with_said_values
from .home_format.status import checked_status
from .home_format.twins import settle_twins
from .worker_client import GenerationResult


async def generate_reply(worker: Any, home: Home, request: ModelRequest, **sampling: Any) -> GenerationResult:
    """worker: a ModelWorker or anything with its generate(); sampling: max_tokens, temperature, ..."""
    if not request.calls_only or request.grammar is None:
        return await worker.generate(request.prompt, grammar=request.grammar, stop=list(request.stop), **sampling)
    named = named_alone(home, request.text)
    if named is not None and (named.domain == "todo" or not _callable(home, named)):
        named = None  # a list item may hold the word; a sensor's question back stands
    # A question back about the one device a request names exactly is asked again about that
    # device: stopped at its first word, it costs no decoding.
    stop = [*request.stop, _QUESTION_BACK] if named is not None else list(request.stop)
    result = await worker.generate(request.prompt, grammar=request.grammar, stop=stop, **sampling)
    if named is not None and not result.text.strip():
        question = GenerationResult(f"{_QUESTION_BACK} ...", result.stats)
        result = await _asked_again(worker, home, request, question, named, named, sampling)
    elif request.earlier and (again := group_elsewhere(home, request.text, request.earlier[-1])) is not None:
        result = await _group_again(worker, home, request, result, again, sampling)
    else:
        if parse_reply(result.text).calls:
            result = await _related_calls(worker, home, request, result, sampling)
        if parse_reply(result.text).calls:
            result = await _named_too(worker, home, request, _whole_group(home, request, result), sampling)
            result = _twins_settled(home, request, result)
        else:
            result = await _checked_sentence(worker, home, request, result, sampling)
    result = _without_no_ops(home, _with_said(home, request, result))
    result = await _idle_then_otherwise(worker, home, request, result, sampling)
    return _true_to_home(home, request, result)


# How the data's questions back begin ("Which kitchen light do you mean: ...?").
_QUESTION_BACK = "Which"


def _callable(home: Home, entity: Entity) -> bool:
    return "call ::=" in build_grammar(keep_only(home, [entity]), calls_only=True)


async def _checked_sentence(
    worker: Any, home: Home, request: ModelRequest, result: GenerationResult, sampling: dict[str, Any]
) -> GenerationResult:
    """A sentence, or what the model writes when asked again where the sentence should have been something else."""
    parsed = parse_reply(result.text)
    asked = named_device(home, parsed.sentence) or settled_device(home, parsed.sentence, request.text, request.user_area)
    device = asked or claimed_device(home, parsed.sentence) or missing_yet_there(home, parsed.sentence, request.text)
    if device is None and not baseless(home, parsed.sentence):
        unfit = unfit_already(home, parsed.sentence, request.text, request.earlier)
        if unfit is not None and unfit.entity_id in request.related:
            return await _acted_instead(worker, home, request, result, unfit, sampling)
        return result
    return await _asked_again(worker, home, request, result, asked, device, sampling)


async def _acted_instead(
    worker: Any, home: Home, request: ModelRequest, result: GenerationResult, unfit: Entity, sampling: dict[str, Any]
) -> GenerationResult:
    """Calls in place of an "already" answer about a device that doesn't fit the command: on that
    device when the request says its name, else on the devices the request points at. Calls that
    change nothing become the home's own "already" sentence later."""
    if distinctive_words(unfit) & words(request.text):
        pointed_at = keep_only(home, [unfit])
    else:
        pointed_at = keep_only(home, [e for e in home.entities if e.entity_id in request.related])
    grammar = build_grammar(pointed_at, calls_only=True, act=True)
    if "call ::=" not in grammar:
        return result
    again = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
    return GenerationResult(again.text, {**result.stats, **again.stats, "unfit_already": result.text})


async def _asked_again(
    worker: Any,
    home: Home,
    request: ModelRequest,
    result: GenerationResult,
    asked: Entity | None,
    device: Entity | None,
    sampling: dict[str, Any],
) -> GenerationResult:
    """Asked again: about the device a question back asked about (calls on it or an answer),
    for calls on the device of a claimed action, or (no device) for a sentence that says there
    is no such device."""
    if device is not None:
        grammar = build_grammar(keep_only(home, [device]), calls_only=True, act=asked is None, sentence_starts=ANSWER_STARTS)
        if "call ::=" not in grammar:  # a device with no service to call (a sensor): the sentence stands
            return result
    else:  # an answer then, without calls: the model found no device to act on
        grammar = build_grammar(keep_only(home, []), calls_only=True, sentence_starts=NOT_FOUND_STARTS)
    again = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
    answer = parse_reply(again.text)
    if (
        asked
        and not answer.calls
        and (false_already(asked, answer.sentence, request.text) or false_missing(asked, answer.sentence))
    ):
        # "The Front Door is already locked." while it is unlocked, or to "unlock the front door";
        # "I can't find a fan in this house." about the fan it asked about.
        grammar = build_grammar(keep_only(home, [asked]), calls_only=True, act=True)
        again = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
    return GenerationResult(text=again.text, stats={**result.stats, **again.stats, "instead_of_calls": result.text})


async def _related_calls(
    worker: Any, home: Home, request: ModelRequest, result: GenerationResult, sampling: dict[str, Any]
) -> GenerationResult:
    """The reply without its calls on devices the request doesn't point at; asked again over the
    devices it does point at when none is left."""
    calls = parse_reply(result.text).calls
    known = {e.entity_id for e in home.entities}
    related = [c for c in calls if c.target in request.related or c.target not in known]  # unknown: validation refuses it
    if len(related) == len(calls):
        return result
    if related:
        return GenerationResult(render_reply("", related, calls_only=True), {**result.stats, "unrelated_calls": result.text})
    pointed_at = keep_only(home, [e for e in home.entities if e.entity_id in request.related])
    grammar = build_grammar(pointed_at, calls_only=True)
    again = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
    return GenerationResult(again.text, {**again.stats, "unrelated_calls": result.text})


async def _group_again(
    worker: Any, home: Home, request: ModelRequest, result: GenerationResult, again: str, sampling: dict[str, Any]
) -> GenerationResult:
    """A follow-up that names only another area after a group command ("do the same in the
    balcony"): the group command there, on every member not in that state yet. The model's calls
    say the service; where they aren't one service of that group, it is asked again with only the
    group's members there."""
    first = result.text
    members = whole_group_members(home, again)
    grouped = on_every_member(home, members, parse_reply(result.text).calls)
    if grouped is None:
        grammar = build_grammar(keep_only(home, members), calls_only=True, act=True)
        if not members or "call ::=" not in grammar:
            return result
        retry = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
        result = GenerationResult(retry.text, {**result.stats, **retry.stats})
        grouped = on_every_member(home, members, parse_reply(retry.text).calls)
    if grouped is None:
        return result  # the members are already so: the no-op calls give the "already" answer
    return GenerationResult(render_reply("", grouped, calls_only=True), {**result.stats, "group_elsewhere": first})


def _whole_group(home: Home, request: ModelRequest, result: GenerationResult) -> GenerationResult:
    """The calls of a group command on every member of the group in the place it names."""
    calls = parse_reply(result.text).calls
    grouped = whole_group(home, request.text, calls, request.user_area)
    if grouped is None or grouped == calls:
        return result
    return GenerationResult(render_reply("", grouped, calls_only=True), {**result.stats, "group_calls": result.text})


async def _named_too(
    worker: Any, home: Home, request: ModelRequest, result: GenerationResult, sampling: dict[str, Any]
) -> GenerationResult:
    """The calls, and after them calls on the devices a clause of the request names and no call is on."""
    calls = parse_reply(result.text).calls
    missing = named_without_call(home, request.text, {c.target for c in calls})
    grammar = build_grammar(keep_only(home, missing), calls_only=True, act=True) if missing else ""
    if "call ::=" not in grammar:
        return result
    more = await worker.generate(request.prompt + result.text + "\n", grammar=grammar, stop=list(request.stop), **sampling)
    return GenerationResult(f"{result.text}\n{more.text}", {**result.stats, "named_too": more.text})


def _twins_settled(home: Home, request: ModelRequest, result: GenerationResult) -> GenerationResult:
    """The calls on devices that share a name moved to the one the request settles, or the
    question which one when it doesn't."""
    calls = parse_reply(result.text).calls
    settled = settle_twins(home, calls, request.text, user_area=request.user_area, in_conversation=bool(request.earlier))
    if settled == calls:
        return result
    text = settled if isinstance(settled, str) else render_reply("", settled, calls_only=True)
    return GenerationResult(text, {**result.stats, "twin_calls": result.text})


def _with_said(home: Home, request: ModelRequest, result: GenerationResult) -> GenerationResult:
    """The calls with the values the request says in words ("coral", "seventy five percent",
    "a minute and a half") in place of the model's reading of them."""
    calls = parse_reply(result.text).calls
    said = with_said_values(home, request.text, calls)
    if said == calls:
        return result
    return GenerationResult(render_reply("", said, calls_only=True), {**result.stats, "said_values": result.text})


async def _idle_then_otherwise(
    worker: Any, home: Home, request: ModelRequest, result: GenerationResult, sampling: dict[str, Any]
) -> GenerationResult:
    """Calls that changed nothing on a device the request names and asks the opposite state of ("bolt
    the patio door" answered with unlock while it is unlocked): the model meant to act but chose
    the service that was done already. Asked again for calls on that device, without those."""
    idle_text = result.stats.get("no_op_calls")
    parsed = parse_reply(result.text)
    if idle_text is None or parsed.calls:
        return result
    unfit = unfit_already(home, parsed.sentence, request.text, request.earlier)
    # Only a device the request names, and words that ask for the opposite state ("bolt", "kill"):
    # asked again over the devices a request merely points at ("let the light in here") or on
    # words that ask for no state ("i can't hear the echo"), a model acts on the wrong thing.
    if (
        unfit is None
        or not distinctive_words(unfit) & words(request.text)
        or not asks_the_opposite(parsed.sentence, request.text)
    ):
        return result
    idle = {(call.service, call.target) for call in parse_reply(idle_text).calls}
    grammar = build_grammar(keep_only(home, [unfit]), calls_only=True, act=True, without=idle)
    if "call ::=" not in grammar:
        return result
    again = await worker.generate(request.prompt, grammar=grammar, stop=list(request.stop), **sampling)
    again = GenerationResult(again.text, {**result.stats, **again.stats, "idle_calls": idle_text})
    return _without_no_ops(home, _with_said(home, request, again))


def _true_to_home(home: Home, request: ModelRequest, result: GenerationResult) -> GenerationResult:
    """A status answer with the facts of the home in place of the model's."""
    parsed = parse_reply(result.text)
    if parsed.calls or not parsed.sentence or (checked := checked_status(home, request.text, parsed.sentence)) is None:
        return result
    return GenerationResult(render_reply(checked, [], calls_only=True), {**result.stats, "status_facts": result.text})


def _without_no_ops(home: Home, result: GenerationResult) -> GenerationResult:
    """The reply without calls that would change nothing ("turn off" on an off light): with none
    left, the sentence that says the device is already so, as a refusal would."""
    kept: list[ModelCall] = []
    idle: list[ServiceCall] = []
    for call in parse_reply(result.text).calls:
        valid, _ = validate_calls(home, [call])
        if valid and (entity := home.get(valid[0].entity_id)) is not None and changes_nothing(entity, valid[0]):
            idle.append(valid[0])
        else:
            kept.append(call)  # invalid ones too: validation refuses them with its reason
    if not idle:
        return result
    text = render_reply("", kept, calls_only=True) if kept else already(home, idle)
    return GenerationResult(text, {**result.stats, "no_op_calls": result.text})
