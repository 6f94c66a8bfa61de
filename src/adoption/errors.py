"""Exceptions raised by ``adoption``.

Every error a user can cause (a bad path, a bad parameter, an invalid event log) is an
:class:`AdoptionError` whose message is one line naming what was wrong and what was expected.
These are plain exceptions: they know nothing of exit codes. The command line alone maps them
(:mod:`adoption.cli.main`: bad input 1, usage 2) and prints the line without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class ProblemLike(Protocol):
    """What an event-log problem offers (:class:`adoption.log.validation.Problem` is one): its one line."""

    def message(self) -> str: ...


class AdoptionError(Exception):
    """Base class of all errors caused by the user's input or parameters."""


class InputError(AdoptionError):
    """A path, file or table could not be read as the contract expects."""


class UsageError(AdoptionError):
    """A command was called with arguments that cannot work (a missing path, a bad option)."""


class ParameterError(AdoptionError, ValueError):
    """A parameter is outside its allowed range or of the wrong type."""


class InvalidEventLog(AdoptionError):
    """An event log breaks one or more rules of the contract.

    Parameters
    ----------
    problems : sequence of Problem
        Every problem found, not only the first (:class:`adoption.log.validation.Problem`, or anything
        with a one-line ``message()``).
    """

    def __init__(self, problems: Sequence[ProblemLike]):
        self.problems = list(problems)
        n = len(self.problems)
        head = self.problems[0].message() if n else "no problems"
        more = f" (and {n - 1} more problem{'s' if n > 2 else ''})" if n > 1 else ""
        super().__init__(f"invalid event log: {head}{more}")

    def to_dict(self) -> dict[str, object]:
        """``{"valid": False, "problems": [one line per problem]}``, as JSON-ready data."""
        return {"valid": False, "problems": [p.message() for p in self.problems]}
