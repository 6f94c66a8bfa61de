"""Text shown to a person: no control characters from the data reach a terminal or a page."""

from __future__ import annotations

import re

__all__ = ["strip_controls"]

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Remove control characters (terminal escape sequences among them) from text shown to a person.

    Newlines and tabs are kept.

    Examples
    --------
    >>> strip_controls("poster\x1b[2J\x07:campus")
    'poster[2J:campus'
    """
    return _CONTROLS.sub("", text)
