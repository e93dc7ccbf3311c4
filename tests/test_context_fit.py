"""A home too big for the context: the request shows the devices that matter to it and fits
(home_format.relevance, home_llm_core.context_fit). Tokens are counted by a stand-in here;
the agent's test with a real Home Assistant is in test_conversation.py, the real model's in
test_real_model.py."""

from __future__ import annotations

import pytest

from home_llm_core.context_fit import ContextTooSmallError, build_fitting_request
from home_llm_core.home_format import Entity, Home, build_request
from home_llm_core.home_format.relevance import keep_only, rank_by_relevance

from .fixture_home import FIXTURE_HOME, NOW

KINDS = [("light", "Lamp"), ("switch", "Plug"), ("fan", "Fan"), ("cover", "Blinds"), ("sensor", "Temperature")]
ROOMS = ["Kitchen", "Study", "Attic", "Porch", "Pantry", "Nursery", "Cellar", "Hallway", "Loft", "Sunroom"]


def big_home(size: int) -> Home:
    """A home of this many devices over ten rooms on two floors, named '<Room> <Kind> <n>'."""
    entities = []
    for i in range(size):
        domain, kind = KINDS[i % len(KINDS)]
        room = ROOMS[(i // len(KINDS)) % len(ROOMS)]
        name = f"{room} {kind} {i}"
        state = "21.5" if domain == "sensor" else "off"
        entities.append(Entity(f"{domain}.{name.lower().replace(' ', '_')}", name, state, {}, room, last_changed=i))
    floors = {room: ("Upstairs" if n % 2 else "Ground Floor") for n, room in enumerate(ROOMS)}
    return Home(tuple(entities), floors=floors)


class Tokenizer:
    """About three bytes a token, counting how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, text: str) -> int:
        self.calls += 1
        return len(text.encode("utf-8")) // 3 + 1


OPTIONS = {"now": NOW, "chat_template": "chatml", "preset": "home_llm_v2"}


def test_named_devices_rank_first_then_area_floor_kind_and_speaker() -> None:
    home = big_home(300)
    ranked = rank_by_relevance(home, "turn on the Attic Lamp 110")
    assert ranked[0].entity_id == "light.attic_lamp_110"
    # Then the attic's other lamps (name words "attic" and "lamp", area said), before any other attic device.
    top = [e.entity_id for e in ranked[1:8]]
    assert all(e.startswith("light.attic_lamp_") for e in top[:5]), top

    by_floor = rank_by_relevance(home, "turn off the fans upstairs")
    upstairs = {room for room, floor in home.floors.items() if floor == "Upstairs"}
    assert all(e.domain == "fan" and e.area in upstairs for e in by_floor[:20])

    by_speaker = rank_by_relevance(home, "turn off the plug", user_area="Porch")
    assert by_speaker[0].domain == "switch" and by_speaker[0].area == "Porch"


def test_ties_go_to_the_most_recently_changed_and_the_ranking_is_stable() -> None:
    home = big_home(50)
    ranked = rank_by_relevance(home, "good morning")
    assert [e.last_changed for e in ranked] == sorted((e.last_changed for e in home.entities), reverse=True)
    assert rank_by_relevance(home, "good morning") == ranked


def test_keep_only_keeps_the_homes_order_and_floors() -> None:
    home = big_home(30)
    part = keep_only(home, [home.entities[20], home.entities[3]])
    assert [e.entity_id for e in part.entities] == [home.entities[3].entity_id, home.entities[20].entity_id]
    assert part.floors == home.floors


async def test_a_home_that_fits_is_sent_whole_without_counting() -> None:
    count = Tokenizer()
    fitted = await build_fitting_request(
        FIXTURE_HOME, "turn on the office light", count_tokens=count, context_length=4096, reply_tokens=128, **OPTIONS
    )
    assert fitted.request == build_request(FIXTURE_HOME, "turn on the office light", **OPTIONS)
    assert fitted.home == FIXTURE_HOME and not fitted.left_out and count.calls == 0


@pytest.mark.parametrize("size", [107, 300, 1000])
async def test_a_big_home_is_cut_to_what_fits_keeping_the_named_device(size: int) -> None:
    home = big_home(size)
    count = Tokenizer()
    text = "set the Cellar Fan 32 to half speed"
    fitted = await build_fitting_request(
        home, text, count_tokens=count, context_length=1024, reply_tokens=128, user_area="Kitchen", **OPTIONS
    )
    whole = await Tokenizer()(build_request(home, text, **OPTIONS).prompt)
    assert whole > 1024  # the test is about a home that does not fit
    assert fitted.prompt_tokens == await Tokenizer()(fitted.request.prompt) <= 1024 - 128
    assert fitted.prompt_tokens > (1024 - 128) * 0.8, "the room is used, not wasted"
    assert count.calls <= 6
    shown = {e.entity_id for e in fitted.home.entities}
    assert "fan.cellar_fan_32" in shown
    assert shown | {e.entity_id for e in fitted.left_out} == {e.entity_id for e in home.entities}
    assert not shown & {e.entity_id for e in fitted.left_out}
    # The prompt, the grammar and the validation all see only the devices shown.
    assert fitted.request == build_request(fitted.home, text, user_area="Kitchen", **OPTIONS)
    left = fitted.left_out[0].entity_id
    assert left not in fitted.request.prompt and left not in (fitted.request.grammar or "")


async def test_no_room_even_for_an_empty_home_is_a_clear_error() -> None:
    with pytest.raises(ContextTooSmallError, match="without any device"):
        await build_fitting_request(
            big_home(300), "hello", count_tokens=Tokenizer(), context_length=200, reply_tokens=128, **OPTIONS
        )
