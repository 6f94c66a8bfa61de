"""Text shown to a person: no control characters from the data reach a terminal or a page."""

from __future__ import annotations

import re

__all__ = ["strip_controls"]

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_BUT_CR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_controls(text: str, *, keep_carriage_returns: bool = False) -> str:
    r"""Remove control characters (terminal escape sequences among them) from text shown to a person.

    Newlines and tabs are kept; carriage returns too with ``keep_carriage_returns`` (progress bars).

    Examples
    --------
    >>> strip_controls("poster\x1b[2J\x07:campus")
    'poster[2J:campus'
    >>> strip_controls("50%\r60%", keep_carriage_returns=True)
    '50%\r60%'
    """
    return (_CONTROLS_BUT_CR if keep_carriage_returns else _CONTROLS).sub("", text)
