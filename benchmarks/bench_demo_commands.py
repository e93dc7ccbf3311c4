"""Ten commands a new user tries, through a running Home Assistant (the demo from scripts/demo).

Each command first puts the device it is about into a known state, then asks the agent and
reads the states back: right when exactly the expected device changed as asked (or, for the
question, nothing changed), wrong otherwise.

    scripts/demo --detach
    .venv/bin/python benchmarks/bench_demo_commands.py [--credentials .demo/credentials.json]

Prints one line per command (reply, what changed, latency) and the count of right answers.
"""

from __future__ import annotations

import statistics

from bench_agent import Api, converse, demo_api

# (sentence, set-up service call (domain, service, data), expected states afterwards;
# an empty dict: nothing may change).
COMMANDS = [
    ("turn off the kitchen light", ("light", "turn_on", {"entity_id": "light.kitchen_light"}), {"light.kitchen_light": "off"}),
    ("turn on the office light", ("light", "turn_off", {"entity_id": "light.office_light"}), {"light.office_light": "on"}),
    ("open the garage door", ("cover", "close_cover", {"entity_id": "cover.garage_door"}), {"cover.garage_door": "open"}),
    ("unlock the front door", ("lock", "lock", {"entity_id": "lock.front_door_lock"}), {"lock.front_door_lock": "unlocked"}),
    (
        "set the thermostat to 22 degrees",
        ("climate", "set_temperature", {"entity_id": "climate.living_room_thermostat", "temperature": 19}),
        {"climate.living_room_thermostat": "temperature=22"},
    ),
    ("is the garage door open?", ("cover", "open_cover", {"entity_id": "cover.garage_door"}), {}),
    ("turn on the coffee machine", ("switch", "turn_off", {"entity_id": "switch.coffee_maker"}), {"switch.coffee_maker": "on"}),
    ("turn on the bedroom fan", ("fan", "turn_off", {"entity_id": "fan.bedroom_fan"}), {"fan.bedroom_fan": "on"}),
    (
        "close the blinds",
        ("cover", "open_cover", {"entity_id": "cover.living_room_blinds"}),
        {"cover.living_room_blinds": "closed"},
    ),
    (
        "turn off the TV",
        ("media_player", "turn_on", {"entity_id": "media_player.living_room_tv"}),
        {"media_player.living_room_tv": "off"},
    ),
]


def snapshot(api: Api) -> dict[str, str]:
    """state, plus the target temperature of thermostats (what "set to 22" changes)."""
    states = {}
    for item in api.get("/api/states"):
        value, target = item["state"], item["attributes"].get("temperature")
        if item["entity_id"].startswith("climate.") and isinstance(target, int | float):
            value += f" temperature={target:g}"
        states[item["entity_id"]] = value
    return states


# The demo's helpers behind its template devices, and entities that change by themselves.
IGNORED_DOMAINS = ("input_boolean", "input_number", "input_select", "input_text", "sensor", "sun", "conversation")


def judge(before: dict[str, str], after: dict[str, str], expected: dict[str, str]) -> tuple[bool, list[str]]:
    changed = sorted(e for e in after if after[e] != before.get(e) and e.split(".")[0] not in IGNORED_DOMAINS)
    notes = [f"{e}: {before.get(e)} -> {after[e]}" for e in changed]
    right = set(changed) == set(expected) and all(want in after[e].split() or after[e] == want for e, want in expected.items())
    return right, notes


def main() -> None:
    api, agent, _ = demo_api(__doc__.split("\n\n")[0])

    right, latencies = 0, []
    for number, (text, (domain, service, data), expected) in enumerate(COMMANDS, 1):
        api.post(f"/api/services/{domain}/{service}", data)
        before = snapshot(api)
        seconds, reply = converse(api, agent, (text,))
        ok, notes = judge(before, snapshot(api), expected)
        right += ok
        latencies.append(seconds)
        print(
            f"{number:2}. {text!r:36} {'right' if ok else 'WRONG':5} {seconds:5.2f} s  "
            f"-> {reply!r}  [{'; '.join(notes) or 'no change'}]"
        )
    print(f"{right}/{len(COMMANDS)} right; latency median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s")


if __name__ == "__main__":
    main()
