"""Diffusion surveys as event logs: one row per person, a time of adoption, nominations of other people.

The classic network-diffusion studies (Coleman, Katz & Menzel's Medical Innovation; Rogers' Brazilian
Farmers; netdiffuseR ships both) record, for each respondent, a community, an id within it, the period in
which they adopted (a code such as 18 for "never") and the ids of the people they named as advisers,
discussion partners or friends. :func:`survey_log` turns such a table into the event-log contract:

* ``users`` — one per respondent, ``user_id`` = ``"<community>/<id>"``, the community as ``city``, all
  joined at the start;
* ``friendships`` — one per pair named in either direction, with ``direction`` (``a_to_b``, ``b_to_a`` or
  ``both``: who named whom);
* ``adoptions`` — ``adopted_at`` = the start of the adoption period (``start`` + (time - first) units);
  respondents coded ``never`` (or with no time) have none;
* ``meta`` — the window (start to the end of the last period), the time unit, and what the import dropped.

Nominations of ids not in the respondent's community are counted and reported (:class:`SurveyImport`),
never silently dropped: a name can be unknown (nobody has the id), in another community, or the
respondent's own id.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adoption.errors import InputError, ParameterError
from adoption.log.contract import TIME_UNITS
from adoption.log.eventlog import EventLog

__all__ = ["SURVEY_FORMATS", "TIME_UNITS", "SurveyImport", "friendships_from_nominations", "read_survey",
           "survey_log"]

#: File endings the importer reads.
SURVEY_FORMATS = (".rda", ".rdata", ".rds", ".csv", ".parquet", ".pq", ".dta")


@dataclass
class SurveyImport:
    """What an import made, and what it could not place.

    Attributes
    ----------
    log : EventLog
    respondents, adopters, pairs : int
        Users, users with an adoption time, friendship pairs.
    nominations : int
        Non-empty nomination cells read.
    unknown, other_community, self_named, duplicate : int
        Nominations not made into friendships: an id nobody in the table has, an id found only in another
        community, the respondent's own id, a person already named by the same respondent.
    """

    log: EventLog
    respondents: int
    adopters: int
    pairs: int
    nominations: int
    unknown: int
    other_community: int
    self_named: int
    duplicate: int
    columns: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A short account of the import, one fact per line."""
        return [f"{self.respondents:,} respondents, {self.adopters:,} adopters, {self.pairs:,} pairs from "
                f"{self.nominations:,} nominations in {len(self.columns)} columns ({', '.join(self.columns)})",
                f"not made into friendships: {self.unknown:,} unknown ids, {self.other_community:,} in another "
                f"community, {self.self_named:,} self-nominations, {self.duplicate:,} repeated names"]


def read_survey(path: str | Path) -> pd.DataFrame:
    """Read a one-row-per-person table: R data (``.rda``/``.rdata``/``.rds``, one data frame, read by the
    pure-Python ``rdata`` package), CSV, Parquet or Stata.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> _ = pd.DataFrame({"id": [1, 2], "toa": [1, 2]}).to_csv(os.path.join(folder, "s.csv"), index=False)
    >>> read_survey(os.path.join(folder, "s.csv")).shape
    (2, 2)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(f"survey: no file at {path}")
    if suffix not in SURVEY_FORMATS:
        raise InputError(f"survey: expected a file ending in {', '.join(SURVEY_FORMATS)}, got {path.name}")
    try:
        if suffix in (".rda", ".rdata", ".rds"):
            import rdata

            data = rdata.read_rds(path) if suffix == ".rds" else rdata.read_rda(path)
            frames = [data] if isinstance(data, pd.DataFrame) else [v for v in data.values() if isinstance(v, pd.DataFrame)]
            if len(frames) != 1:
                raise InputError(f"survey: expected one data frame in {path.name}, found {len(frames)}")
            frame = frames[0]
        elif suffix == ".csv":
            frame = pd.read_csv(path)
        elif suffix == ".dta":
            frame = pd.read_stata(path)
        else:
            frame = pd.read_parquet(path)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"survey: cannot read {path.name}: {str(exc).splitlines()[0][:200]}") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str, what: str) -> pd.Series:
    lookup = {c.strip().lower(): c for c in frame.columns}
    if name.strip().lower() not in lookup:
        raise InputError(f"survey: no column {name!r} for {what} (columns: {', '.join(list(frame.columns)[:12])}"
                         + (", ..." if len(frame.columns) > 12 else "") + ")")
    return frame[lookup[name.strip().lower()]]


def _label(values: pd.Series) -> pd.Series:
    """Ids and community codes as text: 3.0 and "3" are both "3"."""
    numbers = pd.to_numeric(values, errors="coerce")
    finite = numbers.where(np.isfinite(numbers.fillna(np.nan)))
    whole = finite.notna() & (finite == finite.fillna(0).round())
    text = values.astype("string").str.strip()
    return text.where(~whole, finite.fillna(0).round().astype("Int64").astype("string"))


def survey_log(frame: pd.DataFrame, *, community: str, id: str, time: str, nominations: str,
               never: float | None = None, start: str = "2000-01-01", unit: str = "month",
               source: str = "survey", keep: tuple[str, ...] = ()) -> SurveyImport:
    """A survey table as an event log (see the module's description).

    Parameters
    ----------
    frame : DataFrame
        One row per respondent.
    community, id, time : str
        Columns: the community (a town, a village), the respondent's id within it, the period of adoption.
    nominations : str
        The nomination columns: a glob (``net1_*``), or several separated by commas (``net1_*,net2_*``).
    never : float, optional
        The time code of non-adopters (18 in Medical Innovation); empty times are never adopters too.
    start : str, default "2000-01-01"
        The date the first period begins.
    unit : {"month", "year"}
        The length of a period.
    source : str
        Recorded in ``meta["source"]``.
    keep : tuple of str
        Respondent columns kept in ``users`` (outside the contract, carried along: a survey's own
        threshold, age, ...).

    Examples
    --------
    >>> survey = pd.DataFrame({"town": [1, 1, 1, 2], "id": [1, 2, 3, 4], "toa": [1, 2, 9, 1],
    ...                        "net_1": [2, 1, 4, None], "net_2": [3, None, 7, None]})
    >>> made = survey_log(survey, community="town", id="id", time="toa", nominations="net_*", never=9)
    >>> made.pairs, made.other_community, made.unknown, made.adopters
    (2, 1, 1, 3)
    >>> made.log.friendships["direction"].tolist()
    ['both', 'a_to_b']
    """
    if unit not in TIME_UNITS:
        raise ParameterError(f"unit: expected one of {', '.join(TIME_UNITS)}, got {unit!r}")
    try:
        origin = pd.Timestamp(start)
    except (ValueError, TypeError):
        origin = pd.NaT
    if origin is pd.NaT:
        raise ParameterError(f"start: expected a date such as 1953-11-01, got {start!r}")
    patterns = [p.strip() for p in nominations.split(",") if p.strip()]
    columns = [c for c in frame.columns if any(fnmatch.fnmatchcase(c.lower(), p.lower()) for p in patterns)]
    if not columns:
        raise InputError(f"survey: no column matches the nominations pattern {nominations!r}")
    town = _label(_column(frame, community, "--community"))
    ident = _label(_column(frame, id, "--id"))
    if town.isna().any() or ident.isna().any():
        raise InputError(f"survey: {int(town.isna().sum() + ident.isna().sum())} rows have no community or id")
    user = town + "/" + ident
    if user.duplicated().any():
        raise InputError(f"survey: ids repeat within a community, e.g. {user[user.duplicated()].iloc[0]!r}")
    raw_time = pd.to_numeric(_column(frame, time, "--time"), errors="coerce")
    if raw_time.notna().sum() == 0:
        raise InputError(f"survey: column {time!r} has no numeric times of adoption")
    adopted = raw_time.notna() & ((raw_time != never) if never is not None else True)
    first = float(raw_time[adopted].min()) if adopted.any() else 1.0
    last_adoption = float(raw_time[adopted].max()) if adopted.any() else first
    # observation ends with the last period before the "never" code (by convention one past the last period),
    # or with the last period anyone adopted in
    periods = max(float(never) - first, last_adoption - first + 1) if never is not None else last_adoption - first + 1
    if not (raw_time[adopted] == np.round(raw_time[adopted])).all():
        raise InputError(f"survey: column {time!r} holds fractional periods; expected whole {unit}s")

    def moment(periods: np.ndarray) -> pd.DatetimeIndex:
        offsets = [pd.DateOffset(months=int(k)) if unit == "month" else pd.DateOffset(years=int(k)) for k in periods]
        return pd.DatetimeIndex([origin + o for o in offsets])

    users = pd.DataFrame({"user_id": user.astype(str), "joined_at": origin, "city": town.astype(str)})
    for name in keep:
        column = _column(frame, name, "--keep")
        users[f"survey_{column.name}"] = column.to_numpy()
    adoptions = pd.DataFrame({"user_id": user[adopted].astype(str),
                              "adopted_at": moment((raw_time[adopted] - first).to_numpy())})
    # nominations: (respondent, named) within the community
    named = frame[columns].apply(_label)
    ego = np.repeat(np.arange(len(frame)), len(columns))
    alter = named.to_numpy().ravel()
    present = pd.notna(alter)
    ego, alter = ego[present], alter[present].astype(str)
    target = town.to_numpy()[ego] + "/" + alter
    known = set(user)
    ids_anywhere = set(ident)
    inside = np.array([t in known for t in target], dtype=bool)
    self_named = inside & (target == user.to_numpy()[ego])
    other = ~inside & np.array([a in ids_anywhere for a in alter], dtype=bool)
    unknown = ~inside & ~other
    keep = inside & ~self_named
    pairs = pd.DataFrame({"from": user.to_numpy()[ego][keep], "to": target[keep]})
    duplicate = int(pairs.duplicated().sum())
    friendships = friendships_from_nominations(pairs["from"].to_numpy(), pairs["to"].to_numpy())
    end = moment(np.array([periods]))[0]
    meta = {"source": source, "window_start": str(origin), "window_end": str(end), "time_unit": unit,
            "time_first_period": first, "never": never, "nomination_columns": columns,
            "receipts_complete_from": str(origin)}
    log = EventLog(users=users, friendships=friendships, adoptions=adoptions, meta=meta)
    return SurveyImport(log, len(users), int(adopted.sum()), len(friendships), int(present.sum()),
                        int(unknown.sum()), int(other.sum()), int(self_named.sum()), duplicate, columns)


def friendships_from_nominations(named_by: np.ndarray, named: np.ndarray) -> pd.DataFrame:
    """One friendship per pair named in either direction (``user_a < user_b``), with ``direction``: ``a_to_b``
    (``user_a`` named ``user_b``), ``b_to_a`` or ``both``. A name given twice counts once.

    Examples
    --------
    >>> friendships_from_nominations(np.array([1, 2, 3, 3]), np.array([2, 1, 1, 1])).values.tolist()
    [[1, 2, 'both'], [1, 3, 'b_to_a']]
    """
    by, of = np.asarray(named_by), np.asarray(named)
    forward = by < of
    edges = pd.DataFrame({"user_a": np.where(forward, by, of), "user_b": np.where(forward, of, by), "forward": forward})
    named_ways = edges.groupby(["user_a", "user_b"])["forward"].agg(["min", "max"]).reset_index()
    direction = np.where(named_ways["min"] != named_ways["max"], "both",
                         np.where(named_ways["max"], "a_to_b", "b_to_a"))
    return pd.DataFrame({"user_a": named_ways["user_a"].to_numpy(), "user_b": named_ways["user_b"].to_numpy(),
                         "direction": direction})


def parse_never(text: str | None) -> float | None:
    """The ``--never`` code as a number (``None`` when not given).

    Examples
    --------
    >>> parse_never("18"), parse_never(None)
    (18.0, None)
    """
    if text is None:
        return None
    if not re.fullmatch(r"\s*[+-]?\d+(\.\d+)?\s*", text):
        raise ParameterError(f"never: expected the number that codes non-adopters, got {text!r}")
    return float(text)
