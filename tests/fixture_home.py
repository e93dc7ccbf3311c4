"""A small fixed home for format tests (plain data, no Home Assistant)."""

from __future__ import annotations

from datetime import datetime

from home_llm_core.home_format import Entity, Home

NOW = datetime(2026, 11, 26, 20, 30)

FIXTURE_HOME = Home(
    (
        Entity(
            "light.office",
            "Office Light",
            "on",
            {"brightness": 204, "supported_color_modes": ["brightness"]},
            "Office",
            last_changed=3,
        ),
        Entity(
            "fan.office", "Office fan", "off", {"percentage": 0, "preset_modes": ["breeze", "sleep"]}, "Office", last_changed=1
        ),
        Entity(
            "light.kitchen",
            "Kitchen Light",
            "on",
            {"brightness": 204, "rgb_color": [255, 0, 0], "supported_color_modes": ["rgb"]},
            "Kitchen",
            ("ceiling light",),
            last_changed=7,
        ),
        Entity("cover.garage_door", "Garage Door", "closed", {"current_position": 0}, "Garage", last_changed=2),
        Entity("lock.front_door", "Front Door", "locked", {}, "Hall", ("front lock",), last_changed=0),
        Entity(
            "climate.hall",
            "Hall Thermostat",
            "heat",
            {
                "temperature": 21,
                "current_temperature": 19.5,
                "hvac_modes": ["off", "heat", "cool"],
                "min_temp": 7,
                "max_temp": 35,
                "fan_modes": ["auto", "low"],
            },
            "Hall",
            last_changed=4,
        ),
        Entity(
            "media_player.tv",
            "Living Room TV",
            "playing",
            {"media_title": "The News", "volume_level": 0.35},
            "Living Room",
            last_changed=6,
        ),
        Entity("todo.shopping", "Shopping List", "2", {}, None, last_changed=5),
        Entity("sensor.outside", "Outside Temperature", "4.5", {"unit_of_measurement": "°C"}, None, last_changed=8),
    ),
    floors={"Office": "First Floor", "Kitchen": "Ground Floor", "Hall": "Ground Floor", "Living Room": "Ground Floor"},
)
