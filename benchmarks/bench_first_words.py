"""When Assist gets the first words of the reply, through a running Home Assistant's Assist
pipeline (the demo from scripts/demo), as a voice satellite's request goes: text in, the
conversation agent, the reply streamed out as the pipeline's intent-progress events.

    scripts/demo --detach
    .venv/bin/python benchmarks/bench_first_words.py [--credentials .demo/credentials.json]

For each request (bench_agent.py's twenty commands and three that get long replies), asked
twice so the second finds the prompt cached: the time to the first streamed reply text, to the
point where Assist would start streamed text-to-speech (more than STREAM_CHARS characters
streamed, with an engine that takes streamed text; shorter replies go to text-to-speech whole at
the end), and to the end of the agent's turn. Prints one line per request and the medians.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp
from bench_agent import COMMANDS, demo_api

# Assist starts streamed text-to-speech past this many characters (STREAM_RESPONSE_CHARS in
# homeassistant/components/assist_pipeline/pipeline.py).
STREAM_CHARS = 60
LONG_REPLIES = ["which lights are on?", "turn off all the lights", "what can you do?"]


async def run_pipeline(ws: aiohttp.ClientWebSocketResponse, message_id: int, text: str) -> dict:
    """One text-to-intent run: seconds to the first reply text, to the streaming threshold, to the end."""
    started = time.perf_counter()
    await ws.send_json(
        {"id": message_id, "type": "assist_pipeline/run", "start_stage": "intent", "end_stage": "intent", "input": {"text": text}}
    )
    first = threshold = None
    streamed = ""
    while True:
        message = await ws.receive_json(timeout=300)
        if message.get("id") != message_id:
            continue
        if message["type"] == "result" and not message["success"]:
            raise RuntimeError(f"the pipeline refused {text!r}: {message['error']}")
        event = message.get("event") or {}
        now = time.perf_counter() - started
        if event.get("type") == "intent-progress" and (content := (event["data"].get("chat_log_delta") or {}).get("content")):
            streamed += content
            first = first if first is not None else now
            if threshold is None and len(streamed) > STREAM_CHARS:
                threshold = now
        elif event.get("type") == "intent-end":
            speech = event["data"]["intent_output"]["response"]["speech"]["plain"]["speech"]
            return {"first": first, "threshold": threshold, "end": now, "speech": speech, "streamed": streamed}
        elif event.get("type") == "error":
            raise RuntimeError(f"the pipeline failed on {text!r}: {event['data']}")


async def main() -> None:
    api, _agent, _args = demo_api(__doc__.split("\n\n")[0])
    url = api.url.replace("http", "ws", 1) + "/api/websocket"
    rows = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": api.token})
        if (await ws.receive_json())["type"] != "auth_ok":
            raise SystemExit("the demo's token was refused")
        message_id = 0
        for text in [*COMMANDS, *LONG_REPLIES]:
            for attempt in ("first", "again"):
                message_id += 1
                row = await run_pipeline(ws, message_id, text)
                rows.append(row)
                if row["streamed"] != row["speech"]:
                    print(f"  streamed text differs from the reply: {row['streamed']!r} vs {row['speech']!r}")
                threshold = f"{row['threshold']:.2f}" if row["threshold"] is not None else "-"
                print(
                    f"{text[:42]:42} {attempt:5} first text {row['first']:.2f} s  streamed TTS from {threshold:>5} s  "
                    f"end {row['end']:.2f} s  {len(row['speech']):3} chars  {row['speech'][:60]!r}"
                )
    firsts = [r["first"] for r in rows if r["first"] is not None]
    ends = [r["end"] for r in rows]
    long = [r for r in rows if r["threshold"] is not None]
    print(f"\n{len(rows)} runs: median first text {statistics.median(firsts):.2f} s, median end {statistics.median(ends):.2f} s")
    print(f"first text before the end by {statistics.median(r['end'] - r['first'] for r in rows if r['first']):.3f} s (median)")
    print(f"{len(long)} of {len(rows)} replies are long enough for streamed text-to-speech (> {STREAM_CHARS} characters)")


if __name__ == "__main__":
    asyncio.run(main())
