"""Colour names <-> RGB, so device lines say "red (255, 0, 0)" and models may answer with a name."""

from __future__ import annotations

import math

# Deliberately short: names people say to a voice assistant, at saturated values.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "orange": (255, 165, 0),
    "yellow": (255, 255, 0),
    "green": (0, 255, 0),
    "cyan": (0, 255, 255),
    "blue": (0, 0, 255),
    "purple": (128, 0, 128),
    "magenta": (255, 0, 255),
    "pink": (255, 192, 203),
    "white": (255, 255, 255),
    "warm white": (255, 214, 170),
    "cool white": (202, 218, 255),
    "lime": (191, 255, 0),
    "teal": (0, 128, 128),
    "turquoise": (64, 224, 208),
    "lavender": (230, 230, 250),
    "gold": (255, 215, 0),
    "coral": (255, 127, 80),
    "brown": (165, 42, 42),
}


# Other words people use for those colours.
COLOR_SYNONYMS: dict[str, str] = {
    "aqua": "cyan",
    "violet": "purple",
    "fuchsia": "magenta",
    "plain white": "white",
    "lime green": "lime",
    "golden": "gold",
}

# Whites by name, as colour temperatures (kelvin).
WHITES: dict[str, int] = {
    "candle light": 2200,
    "candlelight": 2200,
    "warm": 2700,
    "soft white": 2700,
    "neutral white": 4000,
    "neutral": 4000,
    "daylight": 5000,
    "cold white": 6500,
    "bright daylight": 6500,
}

# Light colour modes that take a colour (Home Assistant's ColorMode values).
COLOR_MODES = frozenset({"hs", "rgb", "rgbw", "rgbww", "xy"})


def nearest_color_name(rgb: tuple[int, int, int] | list[int]) -> str:
    r, g, b = rgb
    return min(COLORS, key=lambda n: (COLORS[n][0] - r) ** 2 + (COLORS[n][1] - g) ** 2 + (COLORS[n][2] - b) ** 2)


def rgb_of(name: str) -> tuple[int, int, int] | None:
    return COLORS.get(name.strip().lower())


def kelvin_to_rgb(kelvin: int) -> list[int]:
    """Approximate colour of white light (a common curve fit), as Home Assistant also reports
    rgb_color while a light is in color_temp mode."""
    t = kelvin / 100
    red = 255 if t <= 66 else 329.7 * (t - 60) ** -0.1332
    green = 99.47 * math.log(t) - 161.12 if t <= 66 else 288.12 * (t - 60) ** -0.0755
    blue = 255 if t >= 66 else (0 if t <= 19 else 138.52 * math.log(t - 10) - 305.04)
    return [max(0, min(255, round(c))) for c in (red, green, blue)]
