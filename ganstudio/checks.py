"""Checking values that arrive from the UI, the API or the CLI: one clear line for each bad one.

The one place numbers, booleans, strings and choices are checked. A message names the field,
says what is allowed and shows at most ~60 characters of what was sent (a 1 MB value is never
echoed back). Every check returns the cleaned value, so callers write ``n = integer("n", n, 1, 64)``.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from ganstudio.errors import BadInput

SHOWN_CHARS = 60  # how much of a bad value a message repeats
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", ""}


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with its full length noted."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not escape
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _float(name: str, value: Any, what: str) -> float:
    if isinstance(value, bool) or value is None:
        raise BadInput(f"{name} must be {what}, got {shown(value)}")
    if isinstance(value, str) and len(value) > 100:  # float() of a megabyte of digits is slow, never valid here
        raise BadInput(f"{name} must be {what}, got {shown(value)}")
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        raise BadInput(f"{name} must be {what}, got {shown(value)}") from None
    if not math.isfinite(out):
        raise BadInput(f"{name} must be a finite number, got {shown(value)}")
    return out


def number(name: str, value: Any, low: float = -math.inf, high: float = math.inf, *, above: float | None = None) -> float:
    """A finite float in [low, high] (and > ``above`` when given)."""
    out = _float(name, value, "a number")
    if above is not None and out <= above:
        raise BadInput(f"{name} must be greater than {above:g}, got {out:g}")
    if not low <= out <= high:
        raise BadInput(f"{name} must be between {low:g} and {high:g}, got {out:g}")
    return out


def integer(name: str, value: Any, low: int, high: int) -> int:
    """A whole number in [low, high]; floats like 3.0 (sliders and number boxes send them) are accepted."""
    if isinstance(value, int) and not isinstance(value, bool):
        out = value
    else:
        as_float = _float(name, value, "a whole number")
        if as_float != int(as_float):
            raise BadInput(f"{name} must be a whole number, got {shown(value)}")
        out = int(as_float)
    if not low <= out <= high:
        raise BadInput(f"{name} must be between {low} and {high}, got {shown(out, 30)}")
    return out


def boolean(name: str, value: Any) -> bool:
    """True/False, 1/0, or the words true/false, yes/no, on/off; anything else is refused (never truthiness)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and len(value) <= 10:
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise BadInput(f"{name} must be true or false, got {shown(value)}")


def text(name: str, value: Any, max_chars: int, *, empty: str | None = None) -> str:
    """A string of at most ``max_chars``; ``empty`` is the message for an empty one (None: empty is fine)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadInput(f"{name} must be text, got {shown(value)}")
    if empty is not None and not value.strip():
        raise BadInput(empty)
    if len(value) > max_chars:
        raise BadInput(f"{name} is {len(value):,} characters long; at most {max_chars:,} are accepted")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:  # a lone surrogate such as '\ud800' (JSON allows it): no text has one
            raise BadInput(f"{name} holds {shown(err.object[err.start:err.end])}, half of a character pair, "
                           "which is not text") from None
    return value


def choice(name: str, value: Any, options: Iterable[str]) -> str:
    """One of ``options`` (compared after stripping; case-sensitive)."""
    options = list(options)
    if isinstance(value, str) and value.strip() in options:
        return value.strip()
    raise BadInput(f"{name} must be one of {', '.join(options)}; got {shown(value)}")
