"""The real adoption logs that ship with the package: the classic network-diffusion surveys.

Made from netdiffuseR's survey files by ``make real`` (``adoption import survey``); sources, licence and
codings are in ``data/real/README.md``.
"""

from __future__ import annotations

from pathlib import Path

from adoption.datasets.reference import data_dir
from adoption.errors import ParameterError
from adoption.log.eventlog import EventLog, read_eventlog

__all__ = ["REAL_LOGS", "load_real", "real_path"]

#: The bundled real logs and what each records.
REAL_LOGS: dict[str, str] = {
    "medical_innovation": "Coleman, Katz & Menzel (1966): 125 doctors in 4 towns, month of first prescribing "
                          "tetracycline, advice/discussion/friendship nominations",
    "brazil_farmers": "Rogers et al. (1970): 692 farmers in 11 villages, year of adopting hybrid corn, "
                      "friendship and farm-practice nominations",
}


def real_path(name: str) -> Path:
    """The folder of a bundled real log.

    Examples
    --------
    >>> real_path("medical_innovation").name
    'medical_innovation'
    """
    if name not in REAL_LOGS:
        raise ParameterError(f"name: expected one of {', '.join(REAL_LOGS)}, got {name!r}")
    return data_dir() / "real" / name


def load_real(name: str) -> EventLog:
    """A bundled real log by name (see :data:`REAL_LOGS`).

    Examples
    --------
    >>> log = load_real("medical_innovation")
    >>> len(log.users), len(log.adoptions), sorted(log.users["city"].unique())
    (125, 109, ['1', '2', '3', '4'])
    """
    return read_eventlog(real_path(name))
