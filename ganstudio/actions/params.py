"""Checking values that arrive from the UI, the API or the CLI: one clear line for each bad one."""

from __future__ import annotations

import math
from typing import Any

from ganstudio.errors import BadInput


def integer(name: str, value: Any, low: int, high: int) -> int:
    """A whole number in [low, high]; floats like 3.0 (sliders send them) are accepted."""
    if isinstance(value, bool) or value is None:
        raise BadInput(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BadInput(f"{name} must be an integer, got {value!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise BadInput(f"{name} must be an integer, got {value!r}")
    if not low <= int(number) <= high:
        raise BadInput(f"{name} must be between {low} and {high}, got {int(number)}")
    return int(number)


def number(name: str, value: Any) -> float:
    """Any float; range and finiteness are checked where the meaning is known."""
    if isinstance(value, bool) or value is None:
        raise BadInput(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be a number, got {value!r}") from None
