"""The demo as a person uses it: Debian's Chromium, driven by Playwright, against the Home
Assistant that scripts/demo starts, with Home LLM on the bundled model as its agent.

It logs in, waits for the dashboard's device tiles, opens Assist, gives a command and asks a
question, and checks what the page shows, the devices' states and Home Assistant's log. Each
step that does not happen fails with what was expected and a screenshot in .demo/browser-test/.
The screenshots of the README (docs/screenshots/) are taken on the way.

Run it with `scripts/test --browser`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / ".demo"
HA_LOG = DEMO_DIR / "config" / "home-assistant.log"
FAILURES = DEMO_DIR / "browser-test"
SCREENSHOTS = REPO / "docs" / "screenshots"

KITCHEN_LIGHT = "light.kitchen_light"
GARAGE_DOOR = "cover.garage_door"
# The model runs on two CPU cores next to the browser: allow for a slow answer.
ANSWER_TIMEOUT_S = 120
PAGE_TIMEOUT_MS = 60_000
# The flags a headless Chromium needs on a machine without a desktop or the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]
LOG_ERROR = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) ")


@dataclass
class Demo:
    url: str
    username: str
    password: str
    token: str

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def state(self, entity_id: str) -> str:
        return self.api("GET", f"/api/states/{entity_id}")["state"]

    def wait_for_state(self, entity_id: str, state: str, timeout: float = 10) -> str:
        """The entity's state once it is `state` (template devices follow their helpers a moment later)."""
        deadline = time.monotonic() + timeout
        while (current := self.state(entity_id)) != state and time.monotonic() < deadline:
            time.sleep(0.3)
        return current


def demo_command(*args: str) -> None:
    subprocess.run([str(REPO / "scripts" / "demo"), *args], check=True, cwd=REPO, timeout=1200)


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """The demo Home Assistant: the running one, else one started (and stopped) here."""
    pid_file = DEMO_DIR / "demo.pid"
    was_running = pid_file.is_file() and Path(f"/proc/{pid_file.read_text().strip()}").exists()
    demo_command("--detach")
    creds = json.loads((DEMO_DIR / "credentials.json").read_text())
    try:
        yield Demo(creds["url"], creds["username"], creds["password"], creds["token"])
    finally:
        if not was_running:
            demo_command("--stop")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=os.environ.get("HOME_LLM_CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


class Steps:
    """Runs the steps of a browser session; a failing one leaves a screenshot and says what it waited for."""

    def __init__(self, page: Page) -> None:
        self.page = page

    async def fail(self, step: str, detail: str) -> None:
        FAILURES.mkdir(parents=True, exist_ok=True)
        shot = FAILURES / f"{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        await self.page.screenshot(path=shot)
        pytest.fail(f"{step}: {detail} (screenshot: {shot.relative_to(REPO)})", pytrace=False)

    async def wait_visible(self, step: str, locator: Locator, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
        try:
            await locator.first.wait_for(state="visible", timeout=timeout_ms)
        except Exception as err:  # Playwright's TimeoutError, or a page that went away
            await self.fail(step, f"{locator} did not appear within {timeout_ms / 1000:.0f} s ({type(err).__name__})")


async def assist_replies(page: Page) -> list[str]:
    # Each message is an ha-markdown element: its text is its content property (rendered in its shadow root).
    texts = await page.locator("ha-assist-chat .message.hass").evaluate_all("els => els.map(e => e.content ?? '')")
    return [t.strip() for t in texts]


async def ask_assist(steps: Steps, text: str) -> str:
    """Type a request into the open Assist dialog, send it and return Home LLM's reply."""
    page = steps.page
    before = await assist_replies(page)
    field = page.locator("ha-assist-chat").get_by_role("textbox")
    await field.fill(text)
    await page.locator("ha-assist-chat").get_by_role("button", name="Send").click()
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while time.monotonic() < deadline:
        replies = await assist_replies(page)
        # While the model thinks, the newest reply is a placeholder ("…").
        if len(replies) > len(before) and replies[-1] not in ("", "…", "..."):
            return replies[-1]
        await page.wait_for_timeout(250)
    await steps.fail(
        f"Assist answering {text!r}", f"no reply within {ANSWER_TIMEOUT_S} s (replies shown: {await assist_replies(page)})"
    )
    raise AssertionError  # not reached: fail() raises


async def toolbar_button(page: Page, tooltip: str) -> Locator:
    """A dashboard toolbar button, found by its tooltip (the buttons have no accessible name)."""
    # The tooltip may name the keyboard shortcut too: "Assist (A)".
    tip = page.locator("ha-tooltip").filter(has_text=re.compile(rf"^\s*{re.escape(tooltip)}\b"))
    button_id = await tip.first.evaluate("tip => tip.for")
    return page.locator(f"ha-icon-button#{button_id}")


def tile(page: Page, name: str) -> Locator:
    return page.locator("hui-tile-card").filter(has_text=name)


# Chromium rejects a view transition's promise when the frontend starts the next one before the
# first has finished (a fast login, then the dashboard); Home Assistant's frontend leaves that
# rejection unhandled. It is harmless and says nothing about Home LLM.
FRONTEND_NOISE = ("Transition was skipped",)


def is_frontend_noise(error: str) -> bool:
    return any(error.startswith(prefix) for prefix in FRONTEND_NOISE)


def log_errors_since(offset: int) -> list[str]:
    with HA_LOG.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode("utf-8", "replace").splitlines()
    return [line[:300] for line in lines if LOG_ERROR.match(line)]


async def test_a_person_talks_to_the_demo_home_in_the_browser(demo: Demo, browser: Browser) -> None:
    # Start from a state in which the command visibly changes something.
    demo.api("POST", "/api/services/light/turn_on", {"entity_id": KITCHEN_LIGHT})
    demo.api("POST", "/api/services/cover/close_cover", {"entity_id": GARAGE_DOOR})
    assert demo.wait_for_state(KITCHEN_LIGHT, "on") == "on"
    assert demo.wait_for_state(GARAGE_DOOR, "closed") == "closed"
    log_offset = HA_LOG.stat().st_size

    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    steps = Steps(page)
    page_errors: list[str] = []
    page.on("pageerror", lambda err: None if is_frontend_noise(str(err)) else page_errors.append(str(err)))

    # Log in as the demo user.
    await page.goto(demo.url)
    await steps.wait_visible("The login page", page.get_by_label("Username"))
    await page.get_by_label("Username").fill(demo.username)
    await page.get_by_role("textbox", name="Password").fill(demo.password)
    await page.keyboard.press("Enter")

    # The first screen: the demo home by area, a tile per device.
    kitchen = tile(page, "Kitchen Light")
    await steps.wait_visible("The dashboard with the demo devices", kitchen)
    for name in ("Garage Door", "Front Door Lock", "Living Room Thermostat"):
        await steps.wait_visible(f"The tile of {name}", tile(page, name))
    # Playwright's text matching reads through the cards' shadow roots.
    off = re.compile(r"\bOff\b")
    await steps.wait_visible("The kitchen light's tile before the command (on)", kitchen.filter(has_not_text=off))

    # Open Assist and give a command.
    await (await toolbar_button(page, "Assist")).click()
    await steps.wait_visible("The Assist dialog", page.locator("ha-assist-chat").get_by_role("textbox"))
    answer = await ask_assist(steps, "turn off the kitchen light")
    if "kitchen light" not in answer.lower():
        await steps.fail("The reply to the command", f"it should name the kitchen light, it is {answer!r}")
    if demo.wait_for_state(KITCHEN_LIGHT, "off") != "off":
        await steps.fail("The command", f"{KITCHEN_LIGHT} is {demo.state(KITCHEN_LIGHT)!r}, not 'off', after {answer!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "assist-command.png")

    # A question is answered and changes nothing.
    question = await ask_assist(steps, "is the garage door open?")
    if "garage door" not in question.lower():
        await steps.fail("The reply to the question", f"it should be about the garage door, it is {question!r}")
    await page.screenshot(path=SCREENSHOTS / "assist-question.png")
    assert demo.state(GARAGE_DOOR) == "closed", f"asking about the garage door changed it (reply {question!r})"
    assert demo.state(KITCHEN_LIGHT) == "off"

    # Back on the dashboard, the kitchen light's tile shows the change.
    await page.keyboard.press("Escape")
    await steps.wait_visible("The kitchen light's tile after the command (off)", kitchen.filter(has_text=off), timeout_ms=10_000)
    await page.mouse.move(700, 850)  # no tooltip over the screenshot
    await page.wait_for_timeout(500)  # the dialog's closing animation
    await page.screenshot(path=SCREENSHOTS / "dashboard-after.png")

    assert not page_errors, f"the page raised JavaScript errors: {page_errors}"
    errors = log_errors_since(log_offset)
    assert not errors, "Home Assistant logged errors during the browser session:\n" + "\n".join(errors)
