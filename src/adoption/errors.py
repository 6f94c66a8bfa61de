"""Exceptions raised by ``adoption``.

Every error a user can cause (a bad path, a bad parameter, an invalid event log) is an
:class:`AdoptionError` whose message is one line naming what was wrong and what was expected.
The command-line interface prints that line and exits non-zero; it never shows a traceback
for bad input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from adoption.validation import Problem


class AdoptionError(Exception):
    """Base class of all errors caused by the user's input or parameters."""

    exit_code: int = 1


class InputError(AdoptionError):
    """A path, file or table could not be read as the contract expects."""


class UsageError(AdoptionError):
    """A command was called with arguments that cannot work (a missing path, a bad option)."""

    exit_code = 2


class ParameterError(AdoptionError, ValueError):
    """A parameter is outside its allowed range or of the wrong type."""

    exit_code = 2


class InvalidEventLog(AdoptionError):
    """An event log breaks one or more rules of the contract.

    Parameters
    ----------
    problems : sequence of Problem
        Every problem found, not only the first.
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = self.problems[0].message() if n else "no problems"
        more = f" (and {n - 1} more problem{'s' if n > 2 else ''})" if n > 1 else ""
        super().__init__(f"invalid event log: {head}{more}")
