"""Latency per command through a running Home Assistant (the demo from scripts/demo).

For each command: cold (the model entry was just reloaded, so the worker starts with an
empty KV cache), warm (the same command again), after a state change (a device changed just
before the request: the prompt is processed again from that device's old line on), and after a
state change and a pause (PAUSE_S: the agent processed the changed prompt in the background
before the request came, as when a person speaks a few seconds after something changed).

    scripts/demo --detach
    .venv/bin/python benchmarks/bench_agent.py [--credentials .demo/credentials.json] [--sizes 0 35 92 285]

--sizes adds that many devices to the demo home for a run (states set through the API, removed
after). Prints one line per command, where a warm request's time went (from the agent's debug
log: prompt processing, decoding), and a table of medians per home size with the ratio of warm
latency to decoding alone (the floor). The twenty commands change devices in the demo home
(about 3 minutes for the demo home, 7 with 92 more devices).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import re
import statistics
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Twenty, as a person would say them in the demo home: commands, questions; the risky ones that
# ask for a confirmation first (opening the garage, unlocking) are left out.
COMMANDS = [
    "turn on the kitchen light",
    "turn off the office light",
    "close the garage door",
    "is the front door locked?",
    "turn on the porch light",
    "turn off the porch light",
    "switch on the garage light",
    "turn off the bedroom light",
    "turn on the living room lamp",
    "turn off the office printer",
    "turn on the bedroom fan",
    "close the living room blinds",
    "open the living room blinds",
    "set the thermostat to 21 degrees",
    "turn off the tv",
    "lock the front door",
    "is the kitchen light on?",
    "is the garage door closed?",
    "what's the temperature in the living room?",
    "dim the living room lamp to 40 percent",
]
# Changed between requests to show what a state change costs.
TOGGLE = ("switch", "toggle", "switch.coffee_maker")
# Between a state change and the next request in the "after a pause" column.
PAUSE_S = 3.0


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def post(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body or {}).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read() or b"{}")

    def get(self, path: str) -> dict | list:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


def ask(api: Api, agent: str, text: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = api.post("/api/conversation/process", {"text": text, "language": "en", "agent_id": agent})
    return time.perf_counter() - started, result["response"]["speech"]["plain"]["speech"]


# How the agent asks before a risky action (home_format/risky.py): "Unlock the Front Door?"
RISKY_QUESTION = re.compile(r"^(?:.*\. )?(?:Unlock|Open|Disarm) the .*\?$")


def converse(api: Api, agent: str, turns: tuple[str, ...], *, confirm: bool = True) -> tuple[float, str]:
    """The last turn's latency and reply, every turn in one conversation. When the agent asks
    before a risky action, the user says yes (confirm), as a person who asked for it would; the
    latency is that of the question, the reply that of the yes."""
    conversation_id, seconds, reply = None, 0.0, ""
    for n, text in enumerate(turns):
        started = time.perf_counter()
        body = {"text": text, "language": "en", "agent_id": agent}
        if conversation_id:  # the API refuses a null id
            body["conversation_id"] = conversation_id
        result = api.post("/api/conversation/process", body)
        seconds, reply = time.perf_counter() - started, result["response"]["speech"]["plain"]["speech"]
        conversation_id = result.get("conversation_id")
        if confirm and n == len(turns) - 1 and RISKY_QUESTION.match(reply):
            body = {"text": "yes", "language": "en", "agent_id": agent, "conversation_id": conversation_id}
            result = api.post("/api/conversation/process", body)
            reply = f"{reply} [yes] {result['response']['speech']['plain']['speech']}"
    return seconds, reply


def demo_api(description: str, extra_arguments=None) -> tuple[Api, str, argparse.Namespace]:
    """The demo's API and agent id, from --credentials (scripts/demo writes them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--credentials", type=Path, default=REPO_ROOT / ".demo" / "credentials.json")
    if extra_arguments:
        extra_arguments(parser)
    args = parser.parse_args()
    creds = json.loads(args.credentials.read_text())
    return Api(creds["url"], creds["token"]), creds["agent_id"], args


# Kinds of extra device for a bigger home: (domain, name, state, attributes).
EXTRA_KINDS = [
    ("light", "Lamp", "off", {"supported_color_modes": ["brightness"], "color_mode": None, "brightness": None}),
    ("switch", "Plug", "off", {}),
    ("sensor", "Temperature", "21.5", {"unit_of_measurement": "°C", "device_class": "temperature"}),
    ("fan", "Fan", "off", {"percentage": 0}),
    ("cover", "Blinds", "closed", {"current_position": 0}),
]
ROOMS = ["Attic", "Cellar", "Loft", "Pantry", "Porch", "Study", "Nursery", "Sunroom", "Hallway", "Library"]


def add_devices(api: Api, count: int) -> None:
    """Add this many devices, as states set through the API (exposed to Assist like any new one)."""
    for i in range(count):
        domain, kind, state, attributes = EXTRA_KINDS[i % len(EXTRA_KINDS)]
        name = f"{ROOMS[(i // len(EXTRA_KINDS)) % len(ROOMS)]} {kind} {i}"
        api.post(f"/api/states/{domain}.bench_{i}", {"state": state, "attributes": {"friendly_name": name, **attributes}})


def remove_devices(api: Api, count: int) -> None:
    for i in range(count):
        domain = EXTRA_KINDS[i % len(EXTRA_KINDS)][0]
        request = urllib.request.Request(
            f"{api.url}/api/states/{domain}.bench_{i}", headers={"Authorization": f"Bearer {api.token}"}, method="DELETE"
        )
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=60).close()


class ModelStats:
    """The worker's figures for each request, from the agent's debug log ("Model output (...)")."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.offset = log.stat().st_size if log.exists() else 0

    def latest(self) -> dict | None:
        if not self.log.exists():
            return None
        with self.log.open(encoding="utf-8", errors="replace") as file:
            file.seek(self.offset)
            text = file.read()
            self.offset = file.tell()
        found = re.findall(r"Model output \((\{.*?\})\): ", text)
        return ast.literal_eval(found[-1]) if found else None


def main() -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--sizes", type=int, nargs="+", default=[0], help="extra devices added to the demo home, one run per size"
        )

    api, agent, args = demo_api(__doc__.split("\n\n")[0], arguments)
    entries = [e for e in api.get("/api/config/config_entries/entry") if e["domain"] == "home_llm"]
    stats = ModelStats(args.credentials.parent / "config" / "home-assistant.log")
    base_devices = len(api.get("/api/states"))

    summary = []
    for size in args.sizes:
        add_devices(api, size)
        rows, parts = [], []
        for text in COMMANDS:
            for entry in entries:  # restart the worker: empty KV cache
                api.post(f"/api/config/config_entries/entry/{entry['entry_id']}/reload")
            stats.latest()
            cold, reply = ask(api, agent, text)
            cold_stats = stats.latest() or {}
            warm, _ = ask(api, agent, text)
            warm_stats = stats.latest() or {}
            domain, service, entity_id = TOGGLE
            api.post(f"/api/services/{domain}/{service}", {"entity_id": entity_id})
            changed, _ = ask(api, agent, text)
            changed_stats = stats.latest() or {}
            api.post(f"/api/services/{domain}/{service}", {"entity_id": entity_id})
            time.sleep(PAUSE_S)
            settled, _ = ask(api, agent, text)
            rows.append((cold, warm, changed, settled))
            parts.append((cold_stats, warm_stats, changed_stats))
            print(
                f"{size:>4} more devices  {text!r:32} cold {cold:5.2f} s   warm {warm:5.2f} s   "
                f"after a state change {changed:5.2f} s   {PAUSE_S:g} s after one {settled:5.2f} s   -> {reply!r}"
            )
            if warm_stats:
                print(
                    f"{'':>19}prompt {warm_stats['prompt_tokens']} tokens; warm: {warm_stats['prompt_seconds']:.2f} s prompt "
                    f"({warm_stats['prompt_tokens'] - warm_stats['cached_tokens']} new tokens), "
                    f"{warm_stats['generate_seconds']:.2f} s for {warm_stats['completion_tokens']} generated"
                )
        medians = [statistics.median(column) for column in zip(*rows, strict=True)]
        warm_parts = [p[1] for p in parts if p[1]]
        prompt_tokens = statistics.median(p["prompt_tokens"] for p in warm_parts) if warm_parts else 0
        decode = statistics.median(p["generate_seconds"] for p in warm_parts) if warm_parts else 0
        summary.append((size, prompt_tokens, *medians, decode))
        remove_devices(api, size)
    print()
    print(
        f"| devices | prompt tokens | cold | warm | after a state change | {PAUSE_S:g} s after a state change "
        "| decoding (warm) | warm / decoding |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, tokens, cold, warm, changed, settled, decode in summary:
        ratio = f"{warm / decode:.1f}" if decode else "-"
        times = f"{cold:.2f} s | {warm:.2f} s | {changed:.2f} s | {settled:.2f} s | {decode:.2f} s"
        print(f"| {base_devices + size} entities | {tokens:.0f} | {times} | {ratio} |")


if __name__ == "__main__":
    main()
