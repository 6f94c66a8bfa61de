"""Parameter sweeps: simulate and measure over a grid, on local processes or a Dask cluster.

A grid file (YAML) names a scenario, the parameters to vary and how many replicates to run::

    scenario: default
    base: {n_users: 3000, campaigns: false}     # fixed overrides
    grid:
      send_rate: [0.002, 0.006, 0.012]
      merchant_benefit: [5.0, 15.0]
    replicates: 2
    seed: 1
    critical_share: 0.5                         # merchants share that counts as critical
    horizon: 90                                 # days after the first receipt for the activation share

Every point runs the pure function :func:`measure` (simulate, then measure the share of receivers active within ``horizon`` days
(before leaving: Aalen–Johansen), the days
until merchants reach the critical share, the final shares of active users and merchants) through a
``concurrent.futures`` executor — local processes by default, a Dask distributed cluster when given a
scheduler address. Seeds come from ``SeedSequence(seed).spawn``, one per point, so the table does not
depend on where or in what order points ran. Each finished point is written as it completes; an
interrupted sweep skips the finished points when run again. The result is one Parquet file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from adoption.errors import InputError, ParameterError, UsageError
from adoption.notebook import format_value
from adoption.tasks import Task, run_tasks, spawn_seeds, write_atomic
from adoption.world.scenario import Scenario

__all__ = ["MEASURE_VERSION", "SweepSpec", "describe_spec", "measure", "point_key", "read_results", "run_sweep"]

_META_KEY = b"adoption_sweep"


@dataclass
class SweepSpec:
    """A parsed grid file."""

    grid: dict[str, list[Any]]
    scenario: str = "default"
    base: dict[str, Any] = field(default_factory=dict)
    replicates: int = 1
    seed: int = 0
    critical_share: float = 0.5
    horizon: float = 90.0
    out: Path | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SweepSpec:
        """Read and check a grid file; every problem is one line naming the key."""
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the grid file ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("grid"), dict) or not raw["grid"]:
            raise InputError(f"{path}: expected a mapping with a non-empty 'grid' of parameter: [values]")
        known = {"grid", "scenario", "base", "replicates", "seed", "critical_share", "horizon", "out"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InputError(f"{path}: unknown key {unknown[0]!r}; expected some of {', '.join(sorted(known))}")
        grid = {k: (v if isinstance(v, list) else [v]) for k, v in raw["grid"].items()}
        out = raw.get("out")
        spec = cls(grid=grid, scenario=raw.get("scenario", "default"), base=raw.get("base") or {},
                   replicates=int(raw.get("replicates", 1)), seed=int(raw.get("seed", 0)),
                   critical_share=float(raw.get("critical_share", 0.5)), horizon=float(raw.get("horizon", 90.0)),
                   out=(path.parent / out) if out else path.with_suffix(".parquet"))
        spec.check()
        return spec

    def check(self) -> None:
        """Build one scenario per point now, so that a bad value fails before anything runs."""
        if self.replicates < 1:
            raise ParameterError(f"replicates: expected >= 1, got {self.replicates}")
        if not 0 < self.critical_share <= 1:
            raise ParameterError(f"critical_share: expected a share in (0, 1], got {self.critical_share}")
        if not (math.isfinite(self.horizon) and self.horizon > 0):
            raise ParameterError(f"horizon: expected a number of days > 0, got {self.horizon}")
        for point in self.points():
            Scenario.named(self.scenario, **{**self.base, **point})

    def points(self) -> list[dict[str, Any]]:
        """Every combination of the grid's values, in a fixed order."""
        names = list(self.grid)
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*self.grid.values())]


def measure(scenario: str, params: dict[str, Any], seed: int, critical_share: float = 0.5,
            horizon: float = 90.0) -> dict[str, Any]:
    """Simulate one point and measure it (a pure function: same arguments, same result).

    Examples
    --------
    >>> row = measure("default", {"n_users": 600, "end": "2014-09-30", "campaigns": False}, seed=1)
    >>> sorted(k for k in row if k.startswith("days_to"))
    ['days_to_critical_merchants', 'days_to_half_users_active']
    """
    from adoption.analysis.activation import activation_table
    from adoption.analysis.survival import CompetingRisks
    from adoption.analysis.timeline import adoption_curves, days_to_share
    from adoption.world.simulate import simulate

    log = simulate(Scenario.named(scenario, **params), seed=seed)
    curves = adoption_curves(log)
    try:
        headline = CompetingRisks(horizon=horizon).fit(activation_table(log)).headline_.iloc[0]
        activation, low, high = (float(headline[c]) for c in ("cumulative_incidence", "ci_low", "ci_high"))
    except InputError:
        activation = low = high = float("nan")
    return {
        "seed": int(seed),
        f"activation_{horizon:g}d": activation, f"activation_{horizon:g}d_ci_low": low,
        f"activation_{horizon:g}d_ci_high": high,
        "days_to_critical_merchants": days_to_share(curves, "merchants_accepting", critical_share),
        "days_to_half_users_active": days_to_share(curves, "users_active", 0.5),
        "users_active_end": float(curves["users_active"].iloc[-1]),
        "merchants_accepting_end": float(curves["merchants_accepting"].iloc[-1]),
        "red_packets": 0 if log.red_packets is None else int(len(log.red_packets)),
    }


#: Bump when :func:`measure` changes what it computes: finished points of an older version are recomputed.
MEASURE_VERSION = 3


def point_key(index: int, scenario: str, params: dict[str, Any], replicate: int, seed: int,
              critical_share: float, horizon: float = 90.0) -> str:
    """The file name of a finished point: everything that determines its result is in the hash.

    The scenario, every parameter (grid and base), the replicate, the seed, the measure's settings and
    the versions of ``adoption`` and of :func:`measure`: a resumed sweep whose settings changed
    recomputes instead of mixing old and new results.
    """
    from adoption.version import __version__

    text = json.dumps({"scenario": scenario, "params": params, "replicate": replicate, "seed": seed,
                       "critical_share": critical_share, "horizon": horizon, "measure": MEASURE_VERSION, "adoption": __version__},
                      sort_keys=True, default=str)
    return f"{index:05d}-{hashlib.sha1(text.encode()).hexdigest()[:16]}"


def run_sweep(spec: SweepSpec, *, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, max_points: int | None = None) -> pd.DataFrame:
    """Run (or resume) a sweep and return its table, also written to ``spec.out``.

    Parameters
    ----------
    spec : SweepSpec
    workers : int, optional
        Local worker processes (default: the number of cores).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``) or a ``distributed.Client``; the
        points then run on that cluster.
    max_points : int, optional
        Run at most this many new points and stop (the rest run when called again).

    Returns
    -------
    DataFrame
        One row per point and replicate: the grid parameters, ``replicate``, ``seed`` and the measures.
    """
    if workers is not None and scheduler is not None:
        raise UsageError("sweep: give either --workers or --scheduler, not both")
    out = Path(spec.out or "sweep.parquet")
    parts = out.with_name(out.name + ".parts")
    jobs = [(params, r) for params in spec.points() for r in range(spec.replicates)]
    seeds = spawn_seeds(spec.seed, len(jobs))
    tasks = [Task(key=point_key(i, spec.scenario, {**spec.base, **p}, r, s, spec.critical_share, spec.horizon),
                  function=measure, args=(spec.scenario, {**spec.base, **p}, s, spec.critical_share, spec.horizon),
                  labels={**p, "replicate": r})
             for i, ((p, r), s) in enumerate(zip(jobs, seeds, strict=True))]
    done_before = sum((parts / f"{t.key}.parquet").exists() for t in tasks)
    rows = run_tasks(tasks, parts, workers=workers, scheduler=scheduler, progress=progress,
                     description="sweep points", max_new=max_points,
                     preload=("adoption.world.simulate", "adoption.analysis.activation", "adoption.analysis.survival",
                              "adoption.analysis.timeline"))
    table = pd.DataFrame(rows)
    finished = len(rows)
    meta = {"scenario": spec.scenario, "base": spec.base, "grid": spec.grid, "replicates": spec.replicates,
                 "seed": spec.seed, "critical_share": spec.critical_share, "horizon": spec.horizon, "complete": finished == len(tasks)}
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           _META_KEY: json.dumps(meta, default=str).encode()})
    write_atomic(arrow, out)
    table.attrs["sweep"] = meta
    table.attrs["computed"] = finished - done_before
    return table


def describe_spec(spec: dict[str, Any]) -> pd.Series:
    """A sweep's specification as one line of words per setting (for a report table).

    Examples
    --------
    >>> describe_spec({"grid": {"send_rate": [0.0, 0.01], "n_users": [400]}, "replicates": 2, "complete": True})
    grid          send_rate: 0, 0.01; n_users: 400
    replicates                                     2
    complete                                     yes
    Name: setting, dtype: object
    """
    def words(value: Any) -> str:
        if isinstance(value, dict):
            return "; ".join(f"{k}: {words(v)}" for k, v in value.items()) or "–"
        if isinstance(value, list | tuple):
            return ", ".join(words(v) for v in value)
        return format_value(value)

    return pd.Series({str(k): words(v) for k, v in spec.items()}, name="setting")


def read_results(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A sweep's table and its specification (grid, scenario, seed) from the Parquet file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> spec = SweepSpec(grid={"send_rate": [0.0, 0.01]}, base={"n_users": 400, "end": "2014-04-30"},
    ...                  out=pathlib.Path(tempfile.mkdtemp()) / "s.parquet")
    >>> _ = run_sweep(spec, workers=1, progress=False)
    >>> table, meta = read_results(spec.out)
    >>> len(table), meta["grid"]
    (2, {'send_rate': [0.0, 0.01]})
    """
    path = Path(path)
    try:
        arrow = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: not a sweep result ({str(exc).splitlines()[0]})") from None
    meta = (arrow.schema.metadata or {}).get(_META_KEY)
    if meta is None:
        raise InputError(f"{path}: not a sweep result (no sweep metadata)")
    return arrow.to_pandas(), json.loads(meta)
