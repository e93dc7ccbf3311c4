"""Latency per command through a running Home Assistant (the demo from scripts/demo).

For each command: cold (the model entry was just reloaded, so the worker starts with an
empty KV cache), warm (the same command again), and after a state change (a device changed
since the last request, so only the changed tail of the prompt is re-processed).

    scripts/demo --detach
    .venv/bin/python benchmarks/bench_agent.py [--credentials .demo/credentials.json]

Prints one line per command and the medians. The commands change devices in the demo home.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    "turn on the kitchen light",
    "turn off the office light",
    "close the garage door",
    "is the front door locked?",
]
# Changed between requests to show what a state change costs.
TOGGLE = ("switch", "toggle", "switch.coffee_maker")


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


def demo_api(description: str) -> tuple[Api, str]:
    """The demo's API and agent id, from --credentials (scripts/demo writes them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--credentials", type=Path, default=REPO_ROOT / ".demo" / "credentials.json")
    creds = json.loads(parser.parse_args().credentials.read_text())
    return Api(creds["url"], creds["token"]), creds["agent_id"]


def main() -> None:
    api, agent = demo_api(__doc__.split("\n\n")[0])
    entries = [e for e in api.get("/api/config/config_entries/entry") if e["domain"] == "home_llm"]

    rows = []
    for text in COMMANDS:
        for entry in entries:  # restart the worker: empty KV cache
            api.post(f"/api/config/config_entries/entry/{entry['entry_id']}/reload")
        cold, reply = ask(api, agent, text)
        warm, _ = ask(api, agent, text)
        domain, service, entity_id = TOGGLE
        api.post(f"/api/services/{domain}/{service}", {"entity_id": entity_id})
        changed, _ = ask(api, agent, text)
        rows.append((cold, warm, changed))
        print(f"{text!r:32} cold {cold:5.2f} s   warm {warm:5.2f} s   after a state change {changed:5.2f} s   -> {reply!r}")
    medians = [statistics.median(column) for column in zip(*rows, strict=True)]
    print(f"median: cold {medians[0]:.2f} s, warm {medians[1]:.2f} s, after a state change {medians[2]:.2f} s")


if __name__ == "__main__":
    main()
