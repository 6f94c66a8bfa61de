"""Calibration by simulated method of moments: which parameters reproduce what is public.

A calibration declares free parameters with ranges and target moments with tolerances and sources (the
package's default is ``data/reference/calibration.yaml``; the moments are defined in
:mod:`adoption.world.moments`). It then simulates:

1. a space-filling design over the ranges (a Latin hypercube, ``scipy.stats.qmc``) with half the budget;
2. a local refinement: the other half in the box around the best quarter of the design (widened by a tenth
   of each range), again a Latin hypercube.

Every point runs ``replicates`` simulations. A replicate of a stage's points is run as one batch of
worlds (:func:`adoption.world.batch.run_worlds`, at most ``BATCH_USERS`` users a batch) when the free
parameters are ones the worlds of a batch may differ in (what is drawn when a world is built, the value of
money, the sending rate, the calendar: the default's are), one point at a time otherwise. Each batch is a
task on the same executor as sweeps (local processes, or a Dask cluster with ``scheduler``), written to
Parquet as it finishes, so an interrupted calibration resumes where it stopped. All points use the same
replicate seeds from ``SeedSequence(seed).spawn``: the worlds of a replicate are built from one seed, the
same friends, groups and draws of cost (common random numbers: two points differ by their parameters, not
by who their users are, so the distance between them is smooth); their days share one random stream.

A point's distance is the root mean square of its moments' standardized misses, each miss the simulated
mean minus the target over the tolerance (on the log scale for ratios). A point is *accepted* when every
moment is within its tolerance; the spread of accepted points is the parameters' uncertainty (what the
targets cannot tell apart), and the best of them is the ``calibrated`` scenario. When no point is within
every tolerance, the closest tenth is reported instead and the result says so.

What it assumes: the targets are what the simulated moments measure (the public figures' definitions
differ; ``source`` says how), and the ranges contain the truth. What it cannot see: parameters no target
moves (they keep their defaults), and the scale of the real network (the simulated population is the
share of users reached by red packets).

Examples
--------
>>> spec = CalibrationSpec.default(budget=4, replicates=1, base={"n_users": 600, "end": "2014-12-31"})
>>> [p.name for p in spec.parameters][:2]
['cost_mean', 'value_money']
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from adoption.errors import InputError, ParameterError, UsageError
from adoption.tasks import Task, open_run_folder, run_tasks, spawn_seeds, task_key, write_atomic
from adoption.world.batch import BUILD_PARAMETERS, DAY_PARAMETERS, batch_slices
from adoption.world.scenario import Scenario

__all__ = ["CalibrationResult", "CalibrationSpec", "FreeParameter", "Target", "bundled_calibration", "calibrate",
           "predicted_race", "read_calibration", "simulate_moments", "simulate_moments_batch"]

#: Share of the budget spent on the space-filling design (the rest refines around its best points).
DESIGN_SHARE = 0.5
#: Share of the design's points, the best by distance, whose box the refinement samples.
REFINE_FROM = 0.25
#: Files of a calibration folder.
SPEC_FILE, POINTS_FILE, RESULT_FILE, SCENARIO_FILE = "spec.json", "points.parquet", "calibration.json", "calibrated.yaml"


@dataclass(frozen=True)
class Target:
    """A public figure a simulated moment is held against."""

    name: str
    target: float
    tolerance: float
    scale: str = "share"  # "share": tolerance absolute; "ratio": tolerance a factor
    source: str = ""

    def miss(self, simulated: float) -> float:
        """The standardized miss: within the tolerance when its absolute value is at most 1."""
        if not np.isfinite(simulated) or (self.scale == "ratio" and simulated <= 0):
            return float("inf")
        if self.scale == "ratio":
            return math.log(simulated / self.target) / math.log(self.tolerance)
        return (simulated - self.target) / self.tolerance


@dataclass(frozen=True)
class FreeParameter:
    """A scenario parameter the calibration varies, within ``[low, high]``."""

    name: str
    low: float
    high: float


@dataclass
class CalibrationSpec:
    """What to calibrate: free parameters, targets, the scenario, the budget and the seed.

    Parameters
    ----------
    parameters, targets : lists of FreeParameter and Target
    scenario : str
        The named scenario the parameters change.
    base : dict
        Fixed overrides (e.g. ``n_users``).
    budget : int
        Parameter points to simulate (each ``replicates`` times).
    replicates : int
    seed : int
    """

    parameters: list[FreeParameter]
    targets: list[Target]
    scenario: str = "default"
    base: dict[str, Any] = field(default_factory=dict)
    budget: int = 32
    replicates: int = 2
    seed: int = 0

    @classmethod
    def default(cls, **changes: Any) -> CalibrationSpec:
        """The package's calibration (``data/reference/calibration.yaml``), with ``changes``."""
        text = resources.files("adoption.datasets").joinpath("reference", "calibration.yaml").read_text()
        return cls._from_mapping(yaml.safe_load(text), "calibration.yaml", **changes)

    @classmethod
    def load(cls, path: str | os.PathLike[str], **changes: Any) -> CalibrationSpec:
        """A target file; keys it leaves out keep the package default's values."""
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise UsageError(f"--targets: cannot read {path} ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(raw, dict):
            raise InputError(f"{path}: expected a mapping with 'targets' and/or 'parameters'")
        default = yaml.safe_load(resources.files("adoption.datasets").joinpath("reference", "calibration.yaml").read_text())
        return cls._from_mapping({**default, **raw}, str(path), **changes)

    @classmethod
    def _from_mapping(cls, raw: dict[str, Any], where: str, **changes: Any) -> CalibrationSpec:
        from adoption.world.moments import MOMENTS

        known = {"scenario", "base", "parameters", "targets", "budget", "replicates", "seed"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InputError(f"{where}: unknown key {unknown[0]!r}; expected some of {', '.join(sorted(known))}")
        params = raw.get("parameters") or {}
        if not isinstance(params, dict) or not params:
            raise InputError(f"{where}: parameters: expected a mapping of name: [low, high]")
        free = []
        for name, bounds in params.items():
            if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int | float) for b in bounds)
                    and bounds[0] < bounds[1]):
                raise InputError(f"{where}: parameters.{name}: expected [low, high] with low < high, got {bounds!r}")
            free.append(FreeParameter(str(name), float(bounds[0]), float(bounds[1])))
        targets = []
        for i, item in enumerate(raw.get("targets") or []):
            if not isinstance(item, dict) or not {"name", "target", "tolerance"} <= set(item):
                raise InputError(f"{where}: targets[{i}]: expected name, target and tolerance")
            if item["name"] not in MOMENTS:
                raise InputError(f"{where}: targets[{i}].name: unknown moment {item['name']!r}; expected one of "
                                 f"{', '.join(MOMENTS)}")
            scale = item.get("scale", "share")
            if scale not in ("share", "ratio"):
                raise InputError(f"{where}: targets[{i}].scale: expected share or ratio, got {scale!r}")
            tol = float(item["tolerance"])
            if tol <= (1.0 if scale == "ratio" else 0.0):
                raise InputError(f"{where}: targets[{i}].tolerance: expected {'a factor > 1' if scale == 'ratio' else 'a number > 0'}, got {tol}")
            targets.append(Target(item["name"], float(item["target"]), tol, scale, str(item.get("source", ""))))
        if not targets:
            raise InputError(f"{where}: targets: expected at least one target moment")
        base = {**(raw.get("base") or {}), **changes.pop("base", {})}
        spec = cls(free, targets, scenario=str(raw.get("scenario", "default")), base=base,
                   budget=int(raw.get("budget", 32)), replicates=int(raw.get("replicates", 2)),
                   seed=int(raw.get("seed", 0)))
        for key, value in changes.items():
            if value is not None:
                setattr(spec, key, value)
        spec.check()
        return spec

    def check(self) -> None:
        """Refuse what cannot run, before anything runs: every corner of the ranges must be a valid scenario."""
        if self.budget < 2:
            raise ParameterError(f"budget: expected at least 2 parameter points, got {self.budget}")
        if self.replicates < 1:
            raise ParameterError(f"replicates: expected at least 1, got {self.replicates}")
        for corner in (0, 1):
            Scenario.named(self.scenario, **self.base, **{p.name: (p.low, p.high)[corner] for p in self.parameters})

    def to_dict(self) -> dict[str, Any]:
        """Everything that determines the result, as JSON-ready values."""
        return {"scenario": self.scenario, "base": self.base, "budget": self.budget, "replicates": self.replicates,
                "seed": self.seed, "parameters": [asdict(p) for p in self.parameters],
                "targets": [asdict(t) for t in self.targets]}


def simulate_moments(scenario: str, params: dict[str, Any], seed: int) -> dict[str, float]:
    """Run one world and return its moments (a pure task: same arguments, same result).

    Examples
    --------
    >>> m = simulate_moments("default", {"n_users": 600, "end": "2014-12-31", "campaigns": False}, seed=1)
    >>> "activated_90d_receivers" in m
    True
    """
    from adoption.world.engine import run_world
    from adoption.world.moments import world_moments

    return world_moments(run_world(Scenario.named(scenario, **params), None, seed))


def simulate_moments_batch(scenario: str, points: list[dict[str, Any]], seed: int) -> list[dict[str, float]]:
    """The moments of one world per parameter point, every world built from ``seed`` and all of them run as
    one batch (:func:`adoption.world.batch.run_worlds`; the points may differ only in what the worlds of a
    batch may differ in). A batch of one point is :func:`simulate_moments`.

    Examples
    --------
    >>> base = {"n_users": 600, "end": "2014-12-31", "campaigns": False}
    >>> low, high = simulate_moments_batch("default", [{**base, "cost_mean": 7.0}, {**base, "cost_mean": 8.4}], seed=1)
    >>> low["activated_90d_receivers"] > high["activated_90d_receivers"]
    True
    >>> (one,) = simulate_moments_batch("default", [base], seed=1)  # (the 2015 moments are NaN: the run ends in 2014)
    >>> pd.Series(one).equals(pd.Series(simulate_moments("default", base, seed=1)))
    True
    """
    from adoption.world.batch import run_worlds
    from adoption.world.moments import world_moments

    worlds = run_worlds([Scenario.named(scenario, **params) for params in points], [seed] * len(points))
    return [world_moments(w) for w in worlds]


def _points_task(scenario: str, points: list[dict[str, Any]], seed: int,
                 labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A calibration task: one replicate of some points as a batch, a row per point with its labels."""
    return [{**label, **moments} for label, moments in
            zip(labels, simulate_moments_batch(scenario, points, seed), strict=True)]


def _lhs(n: int, low: np.ndarray, high: np.ndarray, seed: np.random.SeedSequence) -> np.ndarray:
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(low), seed=np.random.default_rng(seed)).random(n)
    return qmc.scale(unit, low, high)


@dataclass
class CalibrationResult:
    """A finished calibration: every point, the accepted ones, the calibrated point and its moment table.

    Attributes
    ----------
    spec : CalibrationSpec
    points : DataFrame
        One row per parameter point: ``stage`` (design or refine), the free parameters, each moment's mean
        and sd over replicates, each standardized miss, ``distance``, ``within_all`` and ``accepted``.
    calibrated : dict
        The free parameters of the accepted point nearest the targets.
    acceptance : str
        ``"within tolerance"`` or ``"closest tenth"`` (no point met every tolerance).
    complete : bool
        Whether every planned simulation finished.
    """

    spec: CalibrationSpec
    points: pd.DataFrame
    calibrated: dict[str, float]
    acceptance: str
    complete: bool = True

    @property
    def moments(self) -> pd.DataFrame:
        """The moment table at the calibrated point: target, simulated mean and sd, tolerance, within?"""
        best = self.points.loc[self.points["distance"].idxmin()]
        rows = []
        for t in self.spec.targets:
            sim = float(best[f"{t.name}_mean"])
            low, high = ((t.target / t.tolerance, t.target * t.tolerance) if t.scale == "ratio"
                         else (t.target - t.tolerance, t.target + t.tolerance))
            rows.append({"name": t.name, "target": t.target, "simulated": sim, "simulated_sd": float(best[f"{t.name}_sd"]),
                         "tolerance": t.tolerance, "scale": t.scale, "low": low, "high": high,
                         "within": bool(abs(t.miss(sim)) <= 1), "source": t.source})
        return pd.DataFrame(rows)

    @property
    def spread(self) -> pd.DataFrame:
        """Each free parameter across the accepted points: its range, the calibrated value and the spread."""
        accepted = self.points[self.points["accepted"]]
        rows = []
        for p in self.spec.parameters:
            v = accepted[p.name]
            rows.append({"parameter": p.name, "range_low": p.low, "range_high": p.high,
                         "calibrated": self.calibrated[p.name], "accepted_min": float(v.min()),
                         "accepted_median": float(v.median()), "accepted_max": float(v.max()),
                         "accepted_points": int(len(v))})
        return pd.DataFrame(rows)

    def verdict(self) -> str:
        """What the calibration shows, in one or two sentences that say no more than the numbers.

        Examples
        --------
        >>> text = read_calibration(bundled_calibration()).verdict()
        >>> text.split(",")[0]
        '5 of 5 moments are within tolerance at the calibrated point'
        """
        m = self.moments
        outside = [str(n).replace("_", " ") for n, ok in zip(m["name"], m["within"], strict=True) if not ok]
        accepted = int(self.points["accepted"].sum())
        text = (f"{int(m['within'].sum())} of {len(m)} moments are within tolerance at the calibrated point, the "
                f"nearest of {len(self.points)} simulated parameter points.")
        if self.acceptance == "within tolerance":
            text += (f" {accepted} points meet every tolerance; their spread (below) is how uncertain the "
                     "parameters are given these targets.")
        else:
            text += (" No point meets every tolerance, so the spread below is that of the closest tenth "
                     f"({accepted} points), not a confidence set; this world, within these ranges, does not "
                     f"reproduce: {', '.join(outside)}.")
        if not self.complete:
            text += " The calibration did not finish every simulation: run it again to resume."
        return text

    def scenario(self, **overrides: Any) -> Scenario:
        """The calibrated scenario (the spec's scenario and base with the calibrated parameters)."""
        return Scenario.named(self.spec.scenario, **{**self.spec.base, **self.calibrated, **overrides})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``moments`` (name, target, simulated, tolerance, within, ...), ``calibrated``,
        ``spread``, ``acceptance``, ``points`` and the spec."""
        def clean(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                    for r in records]
        return {"moments": clean(self.moments.to_dict("records")), "calibrated": self.calibrated,
                "spread": clean(self.spread.to_dict("records")), "acceptance": self.acceptance,
                "accepted_points": int(self.points["accepted"].sum()), "points": len(self.points),
                "complete": self.complete, "spec": self.spec.to_dict()}


def _summarise(spec: CalibrationSpec, rows: list[dict[str, Any]], stage_of: dict[int, str]) -> pd.DataFrame:
    """One row per point from the per-simulation rows: moment means and sds, misses, distance."""
    if not rows:
        return pd.DataFrame()
    sims = pd.DataFrame(rows)
    names = [t.name for t in spec.targets]
    grouped = sims.groupby("point", sort=True)
    table = grouped[[p.name for p in spec.parameters]].first()
    table.insert(0, "stage", [stage_of[i] for i in table.index])
    table["replicates"] = grouped.size()
    for t in spec.targets:
        table[f"{t.name}_mean"] = grouped[t.name].mean()
        table[f"{t.name}_sd"] = grouped[t.name].std(ddof=1) if spec.replicates > 1 else float("nan")
    misses = np.column_stack([[t.miss(v) for v in table[f"{t.name}_mean"]] for t in spec.targets])
    for j, name in enumerate(names):
        table[f"{name}_miss"] = misses[:, j]
    with np.errstate(invalid="ignore", over="ignore"):
        table["distance"] = np.sqrt(np.mean(misses ** 2, axis=1))
    table["within_all"] = np.all(np.abs(misses) <= 1, axis=1)
    return table


def calibrate(spec: CalibrationSpec, out: str | os.PathLike[str], *, workers: int | None = None,
              scheduler: Any = None, progress: bool = True) -> CalibrationResult:
    """Run (or resume) a calibration into the folder ``out`` and return its result.

    ``out`` is created; a folder holding a calibration with the same settings is resumed, any other
    existing folder is refused (nothing is replaced). Writes ``points.parquet`` (every point),
    ``calibration.json`` (the moment table, the calibrated point, the spread), ``calibrated.yaml`` (the
    ``calibrated`` scenario) and ``parts/`` (one file per finished simulation).
    """
    out = open_run_folder(Path(out), spec.to_dict(), SPEC_FILE)
    parts = out / "parts"
    low = np.array([p.low for p in spec.parameters])
    high = np.array([p.high for p in spec.parameters])
    root = np.random.SeedSequence(spec.seed)
    design_seq, refine_seq = root.spawn(2)
    seeds = spawn_seeds(spec.seed, spec.replicates)  # common random numbers across points
    n_design = max(2, int(round(spec.budget * DESIGN_SHARE)))
    n_refine = spec.budget - n_design
    stage_of: dict[int, str] = {}

    batchable = {p.name for p in spec.parameters} <= BUILD_PARAMETERS | DAY_PARAMETERS
    users = max(Scenario.named(spec.scenario, **spec.base, **{p.name: (p.low, p.high)[corner] for p in spec.parameters}).n_users
                for corner in (0, 1))

    def run(points: np.ndarray, first: int, stage: str) -> list[dict[str, Any]]:
        labelled = []  # (point's parameters, its labels)
        for i, x in enumerate(points, start=first):
            stage_of[i] = stage
            params = {p.name: float(v) for p, v in zip(spec.parameters, x, strict=True)}
            labelled.append(({**spec.base, **params}, {"point": i, **params}))
        # a replicate of the stage's points in batches of at most BATCH_USERS users (of one point, when the
        # free parameters are ones the worlds of a batch cannot differ in)
        batches = batch_slices(len(labelled), users) if batchable else np.arange(len(labelled))[:, None]
        tasks = []
        for r, seed in enumerate(seeds):
            for batch in batches:
                full = [labelled[b][0] for b in batch]
                labels = [{**labelled[b][1], "replicate": r, "seed": seed} for b in batch]
                tasks.append(Task(key=task_key(len(tasks) + first * len(seeds), kind="calibrate", scenario=spec.scenario,
                                               params=full, seed=seed),
                                  function=_points_task, args=(spec.scenario, full, seed, labels)))
        return run_tasks(tasks, parts, workers=workers, scheduler=scheduler, progress=progress,
                         description=f"calibration ({stage})", preload=("adoption.world.batch", "adoption.world.moments"))

    design = _lhs(n_design, low, high, design_seq)
    rows = run(design, 0, "design")
    table = _summarise(spec, rows, stage_of)
    complete = len(rows) == n_design * spec.replicates
    if n_refine > 0 and complete:
        best = table.nsmallest(max(2, int(math.ceil(n_design * REFINE_FROM))), "distance")
        values = best[[p.name for p in spec.parameters]].to_numpy()
        pad = 0.1 * (high - low)
        box_low, box_high = np.maximum(values.min(axis=0) - pad, low), np.minimum(values.max(axis=0) + pad, high)
        rows += run(_lhs(n_refine, box_low, box_high, refine_seq), n_design, "refine")
        complete = len(rows) == spec.budget * spec.replicates
    elif n_refine > 0:
        complete = False
    table = _summarise(spec, rows, stage_of)
    result = _accept(spec, table, complete)
    _write(result, out)
    return result


def _accept(spec: CalibrationSpec, table: pd.DataFrame, complete: bool) -> CalibrationResult:
    if table.empty:
        raise InputError("calibration: no simulation finished")
    if int(table["within_all"].sum()) >= 1:
        accepted, rule = table["within_all"].to_numpy(), "within tolerance"
    else:
        k = max(1, int(math.ceil(0.1 * len(table))))
        accepted = table.index.isin(table.nsmallest(k, "distance").index)
        rule = "closest tenth"
    table = table.assign(accepted=accepted)
    best = table[table["accepted"]]["distance"].idxmin()
    calibrated = {p.name: float(table.loc[best, p.name]) for p in spec.parameters}
    return CalibrationResult(spec, table, calibrated, rule, complete)


def _write(result: CalibrationResult, out: Path) -> None:
    import pyarrow as pa


    write_atomic(pa.Table.from_pandas(result.points.reset_index(), preserve_index=False), out / POINTS_FILE)
    tmp = out / f".{RESULT_FILE}.tmp"
    tmp.write_text(json.dumps(result.to_dict(), indent=1, default=str))
    tmp.replace(out / RESULT_FILE)
    scenario = {"calibrated": {
        "description": (f"Calibrated by `adoption calibrate` ({result.acceptance}; {int(result.points['accepted'].sum())} "
                        f"accepted of {len(result.points)} points): the {result.spec.scenario} scenario with "
                        + ", ".join(f"{k}={v:.4g}" for k, v in result.calibrated.items())),
        "parameters": {k: round(v, 6) for k, v in result.calibrated.items()}}}
    tmp = out / f".{SCENARIO_FILE}.tmp"
    tmp.write_text(yaml.safe_dump(scenario, sort_keys=False))
    tmp.replace(out / SCENARIO_FILE)


def bundled_calibration() -> Path:
    """The calibration shipped with the package (``adoption/datasets/calibration``; the ``calibrated`` scenario)."""
    from adoption.datasets.reference import data_dir

    return data_dir() / "calibration"


def predicted_race(users_active: pd.Series, mau: float | None = None) -> pd.DataFrame:
    """The simulated share of users active, scaled to WeChat's monthly users, beside the public user counts.

    Parameters
    ----------
    users_active : Series
        Share of users active, indexed by date (e.g. ``adoption_curves(log)["users_active"]``).
    mau : float, optional
        The population the share is scaled by (default WeChat's 650M monthly users of 2015Q3).

    Returns
    -------
    DataFrame with one row per public WeChat Pay or Alipay count within the simulated period: ``date``,
    ``series``, ``public_millions`` (users), ``definition``, and ``simulated_wechat_pay_millions``.

    Examples
    --------
    >>> days = pd.date_range("2014-01-01", "2015-12-31")
    >>> race = predicted_race(pd.Series(np.linspace(0.02, 0.8, len(days)), index=days))
    >>> list(race["series"].unique())
    ['alipay_users', 'wechat_pay_users']
    """
    from adoption.datasets.reference import public_figures
    from adoption.world.moments import WECHAT_MAU_2015Q3

    figures = public_figures()
    rows = figures[figures["series"].isin(["wechat_pay_users", "alipay_users"])].copy()
    rows["date"] = pd.to_datetime(rows["date"])
    index = pd.DatetimeIndex(users_active.index)
    rows = rows[(rows["date"] >= index.min()) & (rows["date"] <= index.max())]
    share = users_active.reindex(rows["date"], method="ffill").to_numpy()
    return pd.DataFrame({"date": rows["date"].dt.date.to_numpy(), "series": rows["series"].to_numpy(),
                         "public_millions": rows["value"].to_numpy(float) / 1e6,
                         "definition": rows["metric_definition"].to_numpy(),
                         "simulated_wechat_pay_millions": share * (mau or WECHAT_MAU_2015Q3) / 1e6}).sort_values(
                             ["date", "series"], ignore_index=True)


def read_calibration(path: str | os.PathLike[str]) -> CalibrationResult:
    """A calibration folder written by :func:`calibrate`, as its result.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp() + "/cal"
    >>> spec = CalibrationSpec.default(budget=2, replicates=1, base={"n_users": 400, "end": "2014-06-30"})
    >>> _ = calibrate(spec, out, workers=1, progress=False)
    >>> read_calibration(out).moments["name"].iloc[0]
    'activated_90d_receivers'
    """
    path = Path(path)
    try:
        raw = json.loads((path / RESULT_FILE).read_text())
        points = pd.read_parquet(path / POINTS_FILE).set_index("point")
    except (OSError, ValueError) as exc:
        raise InputError(f"calibration: {path} is not a finished calibration folder ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
    s = raw["spec"]
    spec = CalibrationSpec([FreeParameter(**p) for p in s["parameters"]], [Target(**t) for t in s["targets"]],
                           scenario=s["scenario"], base=s["base"], budget=s["budget"], replicates=s["replicates"],
                           seed=s["seed"])
    return CalibrationResult(spec, points, raw["calibrated"], raw["acceptance"], raw["complete"])
