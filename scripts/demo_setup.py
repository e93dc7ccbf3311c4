#!/usr/bin/env python3
"""Set up the Home LLM demo Home Assistant through its HTTP and websocket APIs.

Called by scripts/demo once Home Assistant has been started; run it with the
interpreter of the project's venv (it uses aiohttp and PyYAML from there).

  demo_setup.py setup   wait for Home Assistant, onboard it (first run only),
                        get a long-lived token, put the demo devices into areas,
                        add Home LLM and make it the Assist agent; print how to
                        reach everything.
  demo_setup.py check   send one sentence to the conversation agent and show
                        the affected devices before and after.

Every step can run again: an onboarded instance is logged into instead of
onboarded, areas/aliases are only filled in where none are set, and Home LLM is
only added when no entry of it exists. The credentials live in
.demo/credentials.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import yaml

DOMAIN = "home_llm"
BUILTIN_AGENT = "conversation.home_assistant"
HOME_YAML = Path(__file__).with_name("demo_home.yaml")

# Where each demo device lives and extra names Assist should know it by.
# Entity ids follow from the names in demo_home.yaml.
DEMO_ENTITIES: dict[str, tuple[str, list[str]]] = {
    "light.kitchen_light": ("Kitchen", []),
    "switch.coffee_maker": ("Kitchen", ["Coffee Machine"]),
    "light.living_room_lamp": ("Living Room", ["Floor Lamp", "Reading Lamp"]),
    "cover.living_room_blinds": ("Living Room", ["Blinds"]),
    "climate.living_room_thermostat": ("Living Room", ["Thermostat", "Heating"]),
    "sensor.living_room_temperature": ("Living Room", []),
    "media_player.living_room_tv": ("Living Room", ["TV", "Television"]),
    "light.bedroom_light": ("Bedroom", []),
    "fan.bedroom_fan": ("Bedroom", ["Ceiling Fan"]),
    "light.office_light": ("Office", []),
    "switch.office_printer": ("Office", ["Printer"]),
    "cover.garage_door": ("Garage", []),
    "light.garage_light": ("Garage", []),
    "lock.front_door_lock": ("Entrance", ["Front Door"]),
    "light.porch_light": ("Entrance", ["Outside Light"]),
}
# The demo's own dashboard (a storage dashboard: its URL needs a hyphen).
DASHBOARD_PATH = "home-llm-demo"
HELPER_DOMAINS = ("input_boolean", "input_number", "input_select", "input_text")

# The state of the home after the first start: (domain, service, data).
FIRST_RUN_STATE: list[tuple[str, str, dict[str, Any]]] = [
    ("input_number", "set_value", {"entity_id": "input_number.kitchen_light_brightness", "value": 200}),
    ("input_number", "set_value", {"entity_id": "input_number.living_room_lamp_brightness", "value": 150}),
    ("input_text", "set_value", {"entity_id": "input_text.living_room_lamp_color", "value": "255,180,110"}),
    ("input_number", "set_value", {"entity_id": "input_number.bedroom_light_brightness", "value": 120}),
    ("input_number", "set_value", {"entity_id": "input_number.bedroom_fan_speed", "value": 33}),
    ("input_number", "set_value", {"entity_id": "input_number.living_room_blinds_position", "value": 100}),
    ("input_number", "set_value", {"entity_id": "input_number.living_room_tv_volume", "value": 0.3}),
    ("input_number", "set_value", {"entity_id": "input_number.living_room_temperature_value", "value": 19.5}),
    ("light", "turn_on", {"entity_id": ["light.kitchen_light", "light.living_room_lamp", "light.porch_light"]}),
    ("lock", "lock", {"entity_id": "lock.front_door_lock"}),
    ("climate", "set_temperature", {"entity_id": "climate.living_room_thermostat", "temperature": 21}),
    ("climate", "set_hvac_mode", {"entity_id": "climate.living_room_thermostat", "hvac_mode": "heat"}),
]

# Completing onboarding's core_config step starts these integrations' flows.
# They need packages the demo does not install (and the internet), so the
# entries they leave behind are removed again.
ONBOARDING_EXTRAS = ("google_translate", "met", "radio_browser", "shopping_list")

# Keys assist_pipeline/pipeline/update accepts (PIPELINE_FIELDS in
# homeassistant/components/assist_pipeline/pipeline.py); all but the last two
# are required.
PIPELINE_KEYS = (
    "conversation_engine",
    "conversation_language",
    "language",
    "name",
    "stt_engine",
    "stt_language",
    "tts_engine",
    "tts_language",
    "tts_voice",
    "wake_word_entity",
    "wake_word_id",
    "prefer_local_intents",
    "acknowledge_media_id",
)
PIPELINE_OPTIONAL_KEYS = ("prefer_local_intents", "acknowledge_media_id")


class SetupError(Exception):
    """A step failed; the message says what to do."""


def say(msg: str) -> None:
    print(f"\033[1m[demo]\033[0m {msg}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    print(f"\033[1;33m[demo] WARNING:\033[0m {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- HTTP


class HA:
    """A small client for Home Assistant's REST and websocket APIs."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.token: str | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ws_id = 0

    @property
    def client_id(self) -> str:
        return f"{self.url}/"

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict | None = None,
        auth: bool = True,
        timeout: float = 60,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        async with self.session.request(
            method,
            self.url + path,
            json=json_body,
            data=form,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            text = await resp.text()
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = text
            return resp.status, body

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like request, but any status other than 200/201 is an error."""
        status, body = await self.request(method, path, **kwargs)
        if status not in (200, 201):
            raise SetupError(f"{method} {path} answered {status}: {body}")
        return body

    async def ws(self, msg_type: str, **data: Any) -> Any:
        """Send one websocket command and return its result."""
        if self._ws is None:
            ws = await self.session.ws_connect(self.url + "/api/websocket", max_msg_size=0)
            if (await ws.receive_json())["type"] != "auth_required":
                raise SetupError("unexpected websocket greeting")
            await ws.send_json({"type": "auth", "access_token": self.token})
            reply = await ws.receive_json()
            if reply["type"] != "auth_ok":
                raise SetupError(f"websocket authentication failed: {reply}")
            self._ws = ws
        self._ws_id += 1
        await self._ws.send_json({"id": self._ws_id, "type": msg_type, **data})
        while True:
            reply = await self._ws.receive_json(timeout=120)
            if reply.get("id") == self._ws_id and reply.get("type") == "result":
                break
        if not reply["success"]:
            raise SetupError(f"websocket {msg_type} failed: {reply['error']}")
        return reply["result"]

    async def close_ws(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def service(self, domain: str, service: str, data: dict[str, Any]) -> None:
        await self.call("POST", f"/api/services/{domain}/{service}", json_body=data)

    async def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in await self.call("GET", "/api/states")}


async def wait_until_up(ha: HA, timeout: float, pid: int | None) -> None:
    """Wait until Home Assistant's HTTP server answers."""
    deadline = time.monotonic() + timeout
    while True:
        if pid is not None and not pid_alive(pid):
            raise SetupError("Home Assistant exited during startup")
        try:
            # Not /api/: an unauthenticated request there counts as a failed login.
            # 400 is "onboarding required". The server starts once onboarding is set up.
            status, _ = await ha.request("GET", "/auth/providers", auth=False, timeout=5)
            if status in (200, 400):
                return
        except (TimeoutError, aiohttp.ClientError):
            pass
        if time.monotonic() > deadline:
            raise SetupError(f"Home Assistant did not answer on {ha.url} within {timeout:.0f}s")
        await asyncio.sleep(1)


async def wait_until_running(ha: HA, timeout: float, pid: int | None) -> None:
    """Wait until Home Assistant has finished starting (all YAML entities exist)."""
    deadline = time.monotonic() + timeout
    while (await ha.call("GET", "/api/config"))["state"] != "RUNNING":
        if pid is not None and not pid_alive(pid):
            raise SetupError("Home Assistant exited during startup")
        if time.monotonic() > deadline:
            raise SetupError(f"Home Assistant did not finish starting within {timeout:.0f}s")
        await asyncio.sleep(1)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------- authentication


async def token_from_code(ha: HA, code: str) -> str:
    body = await ha.call(
        "POST",
        "/auth/token",
        auth=False,
        form={"grant_type": "authorization_code", "code": code, "client_id": ha.client_id},
    )
    return body["access_token"]


async def login(ha: HA, username: str, password: str) -> str:
    """Log in with username and password like the login page does; return an access token."""
    flow = await ha.call(
        "POST",
        "/auth/login_flow",
        auth=False,
        json_body={"client_id": ha.client_id, "handler": ["homeassistant", None], "redirect_uri": f"{ha.url}/?auth_callback=1"},
    )
    result = await ha.call(
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        auth=False,
        json_body={"client_id": ha.client_id, "username": username, "password": password},
    )
    if result.get("type") != "create_entry":
        raise SetupError(
            f"cannot log in as {username!r} ({result.get('errors') or result}). This Home "
            "Assistant was onboarded with other credentials: set HOME_LLM_DEMO_USER/"
            "HOME_LLM_DEMO_PASSWORD to them, or start afresh with scripts/demo --reset."
        )
    return await token_from_code(ha, result["result"])


async def onboard(ha: HA, creds: dict[str, Any]) -> bool:
    """Finish whatever onboarding steps are open. Return True if this created the owner."""
    status, body = await ha.request("GET", "/api/onboarding", auth=False)
    if status == 404:  # onboarding was complete when Home Assistant started
        return False
    if status != 200:
        raise SetupError(f"GET /api/onboarding answered {status}: {body}")
    done = {step["step"]: step["done"] for step in body}
    if all(done.values()):  # finished since this Home Assistant started
        return False
    created_owner = False
    if not done.get("user"):
        say(f"onboarding: creating the owner account {creds['username']!r}")
        result = await ha.call(
            "POST",
            "/api/onboarding/users",
            auth=False,
            json_body={
                "client_id": ha.client_id,
                "name": "Demo User",
                "language": "en",
                "username": creds["username"],
                "password": creds["password"],
            },
        )
        ha.token = await token_from_code(ha, result["auth_code"])
        created_owner = True
    else:
        # The onboarding steps need a login session (a long-lived token will not do).
        ha.token = await login(ha, creds["username"], creds["password"])
    for step in ("core_config", "analytics"):
        if not done.get(step):
            await ha.call("POST", f"/api/onboarding/{step}", json_body={})
    if not done.get("core_config"):
        await remove_onboarding_extras(ha)
    if not done.get("integration"):
        await ha.call(
            "POST",
            "/api/onboarding/integration",
            json_body={"client_id": ha.client_id, "redirect_uri": f"{ha.url}/?auth_callback=1"},
        )
    say("onboarding: done")
    return created_owner


async def remove_onboarding_extras(ha: HA) -> None:
    """Remove the config entries the core_config onboarding step creates."""
    await asyncio.sleep(2)  # the step starts their flows in the background
    for _ in range(15):
        flows = await ha.ws("config_entries/flow/progress")
        if not any(f["handler"] in ONBOARDING_EXTRAS for f in flows):
            break
        await asyncio.sleep(1)
    for entry in await ha.call("GET", "/api/config/config_entries/entry"):
        if entry["domain"] in ONBOARDING_EXTRAS:
            await ha.call("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
            say(f"onboarding: removed the {entry['domain']} entry onboarding added")


async def set_core_config(ha: HA) -> None:
    """Name the home and use the machine's time zone (as the onboarding page would)."""
    config: dict[str, Any] = {"location_name": "Home LLM Demo", "unit_system": "metric", "time_zone": local_time_zone()}
    lang = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    country = lang.split(".")[0].partition("_")[2]
    if len(country) == 2 and country.isalpha():
        config["country"] = country.upper()
    try:
        await ha.ws("config/core/update", **config)
    except SetupError as err:  # e.g. an unknown country code: not worth failing for
        warn(f"could not set the core configuration: {err}")


def local_time_zone() -> str:
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(os.readlink("/etc/localtime").partition("zoneinfo/")[2])
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for name in candidates:
        if name:
            try:
                ZoneInfo(name)
                return name
            except (ValueError, OSError):
                continue
    return "UTC"


async def ensure_token(ha: HA, creds: dict[str, Any], creds_file: Path) -> bool:
    """Leave a working long-lived token in ha.token and creds. True if HA was onboarded now."""
    created_owner = await onboard(ha, creds)
    if created_owner:
        creds.pop("token", None)
        creds["home_initialized"] = False
    if creds.get("token"):
        session_token, ha.token = ha.token, creds["token"]
        status, _ = await ha.request("GET", "/api/")
        if status == 200:
            return created_owner
        warn("the saved token was rejected; creating a new one")
        ha.token = session_token
    if ha.token is None:
        ha.token = await login(ha, creds["username"], creds["password"])
    name = f"Home LLM demo {datetime.now():%Y-%m-%d %H:%M:%S}"  # names must be unique
    creds["token"] = await ha.ws("auth/long_lived_access_token", client_name=name, lifespan=3650)
    await ha.close_ws()
    ha.token = creds["token"]
    save_creds(creds_file, creds)
    say(f"created the long-lived access token {name!r}")
    if created_owner:
        await set_core_config(ha)
    return created_owner


def load_creds(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_creds(path: Path, creds: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(creds, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


# ---------------------------------------------------------------- the demo home


def helper_entity_ids() -> list[str]:
    home = yaml.safe_load(HOME_YAML.read_text())
    return [f"{domain}.{key}" for domain in HELPER_DOMAINS for key in home.get(domain, {})]


async def arrange_home(ha: HA) -> None:
    """Areas, aliases, hidden helpers, Assist exposure: only where not yet done."""
    areas = {a["name"].casefold(): a["area_id"] for a in await ha.ws("config/area_registry/list")}
    for name in dict.fromkeys(area for area, _ in DEMO_ENTITIES.values()):
        if name.casefold() not in areas:
            areas[name.casefold()] = (await ha.ws("config/area_registry/create", name=name))["area_id"]
            say(f"created the area {name!r}")

    registry = {e["entity_id"]: e for e in await ha.ws("config/entity_registry/list")}
    missing = [e for e in DEMO_ENTITIES if e not in registry]
    if missing:
        warn(f"demo entities missing (see the Home Assistant log): {', '.join(missing)}")
    newly_placed = []
    for entity_id, (area, aliases) in DEMO_ENTITIES.items():
        entry = registry.get(entity_id)
        if entry is None or entry.get("area_id"):
            continue  # already placed (possibly moved by the user: leave it)
        await ha.ws("config/entity_registry/update", entity_id=entity_id, area_id=areas[area.casefold()], aliases=aliases)
        newly_placed.append(entity_id)
    if newly_placed:
        # Locks are not exposed to Assist by default; expose every demo device once.
        await ha.ws("homeassistant/expose_entity", assistants=["conversation"], entity_ids=newly_placed, should_expose=True)
        say(f"placed {len(newly_placed)} devices in their areas and exposed them to Assist")

    to_hide = [h for h in helper_entity_ids() if h in registry and registry[h].get("hidden_by") is None]
    for entity_id in to_hide:
        await ha.ws("config/entity_registry/update", entity_id=entity_id, hidden_by="user")
    if to_hide:
        await ha.ws("homeassistant/expose_entity", assistants=["conversation"], entity_ids=to_hide, should_expose=False)
        say(f"hid {len(to_hide)} state-holding helpers")


def demo_dashboard() -> dict[str, Any]:
    """One section per area with a tile for each device Home LLM sees, and how to talk to it."""
    by_area: dict[str, list[str]] = {}
    for entity_id, (area, _aliases) in DEMO_ENTITIES.items():
        by_area.setdefault(area, []).append(entity_id)
    intro = {
        "type": "markdown",
        "content": (
            "**Talk to your home.** Press the Assist button at the top right and type, for example, "
            "*turn off the kitchen light* or *is the garage door open?* Home LLM answers with a small "
            "language model that runs on this machine; the tiles below show each change."
        ),
    }
    sections = [{"type": "grid", "cards": [{"type": "heading", "heading": "Home LLM demo"}, intro]}]
    sections += [
        {"type": "grid", "cards": [{"type": "heading", "heading": area}, *({"type": "tile", "entity": e} for e in entities)]}
        for area, entities in by_area.items()
    ]
    return {
        "title": "Home LLM demo",
        "views": [{"title": "Home", "path": "home", "type": "sections", "max_columns": 4, "sections": sections}],
    }


async def ensure_dashboard(ha: HA) -> None:
    """The demo home by area as everyone's first screen: a dashboard of its own, made once."""
    if any(d.get("url_path") == DASHBOARD_PATH for d in await ha.ws("lovelace/dashboards/list")):
        return  # made before: the user may have changed it since
    await ha.ws(
        "lovelace/dashboards/create",
        url_path=DASHBOARD_PATH,
        title="Home LLM demo",
        icon="mdi:home-assistant",
        show_in_sidebar=True,
        require_admin=False,
    )
    await ha.ws("lovelace/config/save", url_path=DASHBOARD_PATH, config=demo_dashboard())
    system = await ha.ws("frontend/get_system_data", key="core")
    await ha.ws("frontend/set_system_data", key="core", value={**(system.get("value") or {}), "default_panel": DASHBOARD_PATH})
    say("made the dashboard 'Home LLM demo' (the demo home by area) the first screen")


async def set_first_run_state(ha: HA) -> None:
    for domain, service, data in FIRST_RUN_STATE:
        await ha.service(domain, service, data)
    say("switched the demo home into its initial state")


# ---------------------------------------------------------------- Home LLM


async def add_home_llm(ha: HA) -> bool:
    """Add Home LLM through its config flow unless an entry exists. False if unavailable."""
    entries = await ha.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    if entries:
        return True
    model = os.environ.get("HOME_LLM_DEMO_MODEL", "bundled")  # or home_llm_270m: Home LLM 270M
    say(f"adding Home LLM (config flow: {model})")
    status, result = await ha.request(
        "POST",
        "/api/config/config_entries/flow",
        timeout=900,
        json_body={"handler": DOMAIN, "show_advanced_options": False},
    )
    if status == 404:
        warn(
            f"Home Assistant has no config flow for {DOMAIN!r} (answer: {result}). Skipping "
            "Home LLM; the built-in agent stays in charge. Re-run scripts/demo once the "
            "integration's config flow exists."
        )
        return False
    if status != 200:
        raise SetupError(f"starting the {DOMAIN} config flow failed ({status}): {result}")
    deadline = time.monotonic() + 1800
    while True:
        kind, step = result.get("type"), result.get("step_id")
        if kind == "create_entry":
            say(f"Home LLM entry created: {result.get('title')!r}")
            return True
        if kind == "abort":
            raise SetupError(
                f"the {DOMAIN} config flow aborted: {result.get('reason')} {result.get('description_placeholders') or ''}"
            )
        if time.monotonic() > deadline:
            raise SetupError(f"the {DOMAIN} config flow did not finish (last step: {result})")
        if kind == "menu":
            options = result.get("menu_options") or []
            if isinstance(options, dict):
                options = list(options)
            if model in options:
                user_input = {"next_step_id": model}
            elif len(options) == 1:
                user_input = {"next_step_id": options[0]}
            else:
                raise SetupError(f"{DOMAIN} config flow menu {step!r} offers {options}, not {model!r} (HOME_LLM_DEMO_MODEL)")
        elif kind == "form":
            if result.get("errors"):
                raise SetupError(
                    f"{DOMAIN} config flow step {step!r} reported errors "
                    f"{result['errors']} {result.get('description_placeholders') or ''}"
                )
            user_input = form_defaults(result)
        elif kind in ("progress", "progress_done"):
            if kind == "progress":
                await asyncio.sleep(2)
            user_input = {}
        else:  # external steps need a browser
            raise SetupError(f"{DOMAIN} config flow step {step!r} of type {kind!r} cannot be completed by scripts/demo")
        say(f"config flow: step {step!r} ({kind}) -> {user_input or 'continue'}")
        result = await ha.call("POST", f"/api/config/config_entries/flow/{result['flow_id']}", json_body=user_input, timeout=900)


def form_defaults(result: dict[str, Any]) -> dict[str, Any]:
    """Fill a flow form with its defaults; fail on required fields without one."""
    user_input = {}
    for field in result.get("data_schema") or []:
        if "default" in field:
            user_input[field["name"]] = field["default"]
        elif field.get("required"):
            raise SetupError(f"{DOMAIN} config flow step {result.get('step_id')!r} needs {field['name']!r}, which has no default")
    return user_input


async def find_agent(ha: HA, timeout: float = 300) -> str:
    """The conversation entity of the Home LLM entry (waits for its setup)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = await ha.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
        bad = [e for e in entries if e["state"] in ("setup_error", "migration_error", "failed_unload")]
        if bad:
            raise SetupError(
                f"the {DOMAIN} entry failed to set up: {bad[0]['state']} "
                f"{bad[0].get('reason') or ''} (see the Home Assistant log)"
            )
        agents = sorted(
            e["entity_id"]
            for e in await ha.ws("config/entity_registry/list")
            if e["platform"] == DOMAIN and e["entity_id"].startswith("conversation.") and not e.get("disabled_by")
        )
        loaded = any(e["state"] == "loaded" for e in entries)
        if agents and loaded:
            if len(agents) > 1:
                warn(f"several Home LLM agents {agents}; using {agents[0]}")
            return agents[0]
        if time.monotonic() > deadline:
            states = [(e["title"], e["state"], e.get("reason")) for e in entries]
            raise SetupError(f"no conversation entity of platform {DOMAIN} appeared within {timeout:.0f}s (entries: {states})")
        await asyncio.sleep(2)


async def use_agent_in_pipeline(ha: HA, agent: str) -> None:
    """Make the agent the conversation engine of the preferred Assist pipeline."""
    listing = await ha.ws("assist_pipeline/pipeline/list")
    pipelines = {p["id"]: p for p in listing["pipelines"]}
    preferred = pipelines.get(listing.get("preferred_pipeline"))
    if preferred is None:
        fields = {k: None for k in PIPELINE_KEYS if k not in PIPELINE_OPTIONAL_KEYS}
        fields.update(name="Home LLM", language="en", conversation_language="en", conversation_engine=agent)
        created = await ha.ws("assist_pipeline/pipeline/create", **fields)
        await ha.ws("assist_pipeline/pipeline/set_preferred", pipeline_id=created["id"])
        say("created the Assist pipeline 'Home LLM'")
        return
    if preferred["conversation_engine"] == agent and preferred["name"] == "Home LLM":
        return
    fields = {k: preferred.get(k) for k in PIPELINE_KEYS}
    for key in PIPELINE_OPTIONAL_KEYS:
        if fields[key] is None:
            del fields[key]
    fields["conversation_engine"] = agent
    fields["name"] = "Home LLM"  # the name the Assist dialog shows
    await ha.ws("assist_pipeline/pipeline/update", pipeline_id=preferred["id"], **fields)
    say(f"the Assist pipeline {preferred['name']!r} is now 'Home LLM', with {agent}")


# ---------------------------------------------------------------- commands


async def cmd_setup(ha: HA, args: argparse.Namespace) -> None:
    creds_file = Path(args.credentials)
    creds = load_creds(creds_file)
    creds.update(url=args.public_url, username=args.username, password=args.password)
    await wait_until_up(ha, args.timeout, args.pid)
    await ensure_token(ha, creds, creds_file)
    await wait_until_running(ha, args.timeout, args.pid)
    await arrange_home(ha)
    await ensure_dashboard(ha)
    if creds.get("home_initialized") is False:  # set when this run created the owner
        await set_first_run_state(ha)
    creds["home_initialized"] = True
    agent = None
    if await add_home_llm(ha):
        agent = await find_agent(ha)
        await use_agent_in_pipeline(ha, agent)
    creds["agent_id"] = agent
    save_creds(creds_file, creds)
    print_info(creds, creds_file, args.log_file)


def print_info(creds: dict[str, Any], creds_file: Path, log_file: str | None) -> None:
    url, token = creds["url"], creds["token"]
    agent = creds.get("agent_id") or BUILTIN_AGENT
    body = json.dumps({"text": "turn off the kitchen light", "language": "en", "agent_id": agent})
    b = "\033[1m"
    n = "\033[0m"
    lines = [
        "",
        f"{b}Home Assistant with the Home LLM demo home is running{n}",
        f"  URL:        {url}",
        f"  Login:      {creds['username']} / {creds['password']}",
        f"  Token:      {token}",
        f"  Agent:      {agent}" + ("" if creds.get("agent_id") else "   (Home LLM is not set up: built-in agent)"),
        f"  Saved in:   {os.path.relpath(creds_file)}",
    ]
    if log_file:
        lines.append(f"  Log:        {log_file}")
    lines += [
        "",
        "Talk to it:",
        f"  TOKEN={token}",
        f'  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" '
        f"-d '{body}' {url}/api/conversation/process",
        "",
    ]
    print("\n".join(lines), flush=True)


async def cmd_check(ha: HA, args: argparse.Namespace) -> int:
    creds = load_creds(Path(args.credentials))
    if not creds.get("token"):
        raise SetupError("no token in the credentials file: run the setup first")
    ha.token = creds["token"]
    agent = args.agent or creds.get("agent_id")
    if not agent:
        warn(f"Home LLM is not set up; checking with the built-in agent {BUILTIN_AGENT}")
        agent = BUILTIN_AGENT
    before = await ha.states()
    text = args.text
    expect = None
    if not text:  # toggle the kitchen light so that something visibly changes
        on = before.get("light.kitchen_light", {}).get("state") == "on"
        text = f"turn {'off' if on else 'on'} the kitchen light"
        expect = ("light.kitchen_light", "off" if on else "on")
    print(f"\n>>> {text!r} -> {agent}", flush=True)
    started = time.monotonic()
    status, reply = await ha.request(
        "POST",
        "/api/conversation/process",
        timeout=900,
        json_body={"text": text, "language": "en", "agent_id": agent},
    )
    elapsed = time.monotonic() - started
    if status != 200:
        print(f"<<< HTTP {status}: {reply}")
        return 1
    response = reply.get("response", {})
    speech = response.get("speech", {}).get("plain", {}).get("speech")
    print(f"<<< {speech!r}  ({response.get('response_type')}, {elapsed:.1f}s)")
    if response.get("response_type") == "error":
        print(f"    error: {response.get('data')}")

    watched = set(DEMO_ENTITIES) - {"sensor.living_room_temperature"}
    if expect is None:
        await asyncio.sleep(1)  # let template entities follow their helpers
    deadline = time.monotonic() + 5
    while True:  # template entities follow their helpers a moment later
        after = await ha.states()
        if expect is None or after.get(expect[0], {}).get("state") == expect[1]:
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    changed = [e for e in sorted(watched) if describe(before.get(e)) != describe(after.get(e))]
    shown = changed or ([expect[0]] if expect else [])
    print("\nDevice states (before -> after):" if shown else "\nNo demo device changed.")
    for entity_id in shown:
        print(f"  {entity_id}: {describe(before.get(entity_id))} -> {describe(after.get(entity_id))}")
    if response.get("response_type") == "error":
        return 1
    if expect and after.get(expect[0], {}).get("state") != expect[1]:
        print(f"\nFAILED: {expect[0]} should be {expect[1]!r}")
        return 1
    print("\nOK" if expect else "\nDone (a custom sentence has no expected outcome to verify).")
    return 0


# Integrations named in the configuration.yaml scripts/demo writes and in demo_home.yaml;
# Home Assistant also loads homeassistant.bootstrap.DEFAULT_INTEGRATIONS.
DEMO_DOMAINS = (
    "http",
    "api",
    "config",
    "onboarding",
    "conversation",
    "assist_pipeline",
    "history",
    "logbook",
    "logger",
    "automation",
    "template",
    "generic_thermostat",
    "universal",
    *HELPER_DOMAINS,
)


def cmd_requirements(args: argparse.Namespace) -> int:
    """Print the requirements of the integrations the demo loads that are not installed."""
    import importlib.metadata as metadata

    import homeassistant.components
    from homeassistant import bootstrap
    from packaging.requirements import Requirement

    root = Path(homeassistant.components.__path__[0])

    def manifest(path: Path) -> dict[str, Any]:
        return json.loads(path.read_text())

    def installed(requirement: str) -> bool:
        req = Requirement(requirement)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            return False
        return req.specifier.contains(version, prereleases=True)

    domains: set[str] = set()
    todo = [*bootstrap.DEFAULT_INTEGRATIONS, *DEMO_DOMAINS, *service_validation_domains()]
    while todo:
        domain = todo.pop()
        if domain not in domains:
            domains.add(domain)
            todo += manifest(root / domain / "manifest.json").get("dependencies", [])
    missing = {
        req
        for domain in domains
        for req in manifest(root / domain / "manifest.json").get("requirements", [])
        if not installed(req)
    }
    print("\n".join(sorted(missing)))

    own = Path(args.home_llm_manifest) if args.home_llm_manifest else None
    if own and own.is_file():
        try:
            own_missing = [r for r in manifest(own).get("requirements", []) if not installed(r)]
        except ValueError as err:
            own_missing = []
            warn(f"{own} is not valid JSON: {err}")
        if own_missing:
            warn(
                f"Home LLM's requirements are not installed: {', '.join(own_missing)}. "
                "Home Assistant runs with --skip-pip, so scripts/bootstrap.sh has to install "
                "them (requirements_test.txt)."
            )
    return 0


def service_validation_domains() -> list[str]:
    """The components Home Assistant imports to describe services to the frontend.

    helpers.service._base_components imports them (camera among them, which needs
    PyTurboJPEG) as soon as a browser asks for the service list; read the names from
    its source so that a new Home Assistant version's list is followed.
    """
    import ast
    import inspect

    from homeassistant.helpers import service

    tree = ast.parse(inspect.getsource(inspect.unwrap(service._base_components)))
    return [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "homeassistant.components"
        for alias in node.names
    ]


def describe(state: dict[str, Any] | None) -> str:
    if state is None:
        return "(missing)"
    attrs = state["attributes"]
    extra = [
        f"{k}={attrs[k]}"
        for k in (
            "brightness",
            "rgb_color",
            "percentage",
            "current_position",
            "temperature",
            "hvac_action",
            "volume_level",
            "is_volume_muted",
            "source",
        )
        if attrs.get(k) is not None
    ]
    return state["state"] + (f" ({', '.join(extra)})" if extra else "")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["setup", "check", "requirements"])
    parser.add_argument("--url", default="http://127.0.0.1:8123", help="where to reach HA")
    parser.add_argument("--public-url", help="the URL to print (default: --url)")
    parser.add_argument("--credentials", default=".demo/credentials.json")
    parser.add_argument("--username", default="demo")
    parser.add_argument("--password", default="demo1234")
    parser.add_argument("--pid", type=int, help="HA's process: stop waiting if it dies")
    parser.add_argument("--timeout", type=float, default=600, help="startup timeout (s)")
    parser.add_argument("--log-file", help="HA's log file, to mention in the output")
    parser.add_argument("--text", help="check: the sentence to send")
    parser.add_argument("--agent", help="check: the agent id (default: Home LLM's)")
    parser.add_argument("--home-llm-manifest", help="requirements: also check this manifest")
    args = parser.parse_args()
    args.public_url = (args.public_url or args.url).rstrip("/")
    if args.command == "requirements":
        return cmd_requirements(args)

    async with aiohttp.ClientSession() as session:
        ha = HA(session, args.url)
        try:
            if args.command == "setup":
                await cmd_setup(ha, args)
                return 0
            return await cmd_check(ha, args)
        except SetupError as err:
            print(f"\033[1;31m[demo] ERROR:\033[0m {err}", file=sys.stderr)
            return 1
        finally:
            await ha.close_ws()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
