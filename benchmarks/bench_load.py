"""Many users at once, through a running Home Assistant (the demo from scripts/demo) and the real
model: CONVERSATIONS conversations send MESSAGES commands each, one after another within a
conversation and all conversations at the same time, through the conversation API.

    scripts/demo --detach
    .venv/bin/python benchmarks/bench_load.py [--conversations 10] [--messages 5]

Prints throughput, p50/p95 latency, how many were answered "busy" (the worker's queue limit),
whether every request got exactly one answer, and the memory of Home Assistant's and the
worker's processes before and after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import threading
import time
from pathlib import Path

from bench_agent import REPO_ROOT, Api

COMMANDS = ["turn on the kitchen light", "turn off the kitchen light", "is the garage door open?", "turn on the office light"]
BUSY = "busy with other requests"


def rss_mb(pattern: str) -> float:
    """Resident memory of the processes whose command line matches pattern, in MB."""
    pids = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False).stdout.split()
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            line = next((x for x in status.read_text().splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
            total += int(line.split()[1])
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=Path, default=REPO_ROOT / ".demo" / "credentials.json")
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--messages", type=int, default=5)
    args = parser.parse_args()
    creds = json.loads(args.credentials.read_text())
    api, agent = Api(creds["url"], creds["token"]), creds["agent_id"]

    latencies: list[float] = []
    replies: dict[int, list[str]] = {}
    errors: list[str] = []

    def converse(number: int) -> None:
        conversation_id, heard = None, []
        for message in range(args.messages):
            body = {"text": COMMANDS[(number + message) % len(COMMANDS)], "language": "en", "agent_id": agent}
            if conversation_id:
                body["conversation_id"] = conversation_id
            started = time.perf_counter()
            try:
                result = api.post("/api/conversation/process", body)
            except Exception as err:
                errors.append(f"conversation {number} message {message}: {err}")
                continue
            latencies.append(time.perf_counter() - started)
            conversation_id = result.get("conversation_id")
            heard.append(result["response"]["speech"]["plain"]["speech"])
        replies[number] = heard

    memory_before = rss_mb("homeassistant"), rss_mb("home_llm_core/worker.py")
    started = time.perf_counter()
    threads = [threading.Thread(target=converse, args=(n,)) for n in range(args.conversations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    memory_after = rss_mb("homeassistant"), rss_mb("home_llm_core/worker.py")

    answered = sum(len(r) for r in replies.values())
    busy = sum(BUSY in reply for r in replies.values() for reply in r)
    sent = args.conversations * args.messages
    quantiles = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    print(f"{sent} commands in {args.conversations} conversations: {answered} answered ({busy} 'busy'), {len(errors)} lost")
    p50, p95 = statistics.median(latencies), quantiles[18]
    print(f"{elapsed:.1f} s in all, {answered / elapsed:.2f} answers/s; latency p50 {p50:.2f} s, p95 {p95:.2f} s")
    (ha_before, worker_before), (ha_after, worker_after) = memory_before, memory_after
    print(f"memory (MB): Home Assistant {ha_before:.0f} -> {ha_after:.0f}, worker {worker_before:.0f} -> {worker_after:.0f}")
    for error in errors:
        print("lost:", error)


if __name__ == "__main__":
    main()
