"""The network's critical mass: how large an initial push tips the market, beside the mean field's answer.

A tipping experiment starts a world that stalls on its own (by default ``no_red_packets``: money moves only
by transfers between friends) with a *push*: a share of users given ``push_yuan`` in their wallets before
the first day, at random, the most connected first (``target="degree"``) or whole cities first
(``target="city"``). For each push in a range it runs many seeded replicates (tasks on the sweep executor:
local processes or a Dask cluster) and records whether the market tipped: at least ``tip_share`` of users
active at the end of the period.

The probability of tipping against the push is a logistic regression fitted by Firth's penalized
likelihood (:func:`firth_logit`: finite when the outcomes separate, as they do once the transition is
sharp), with a 95% interval; the *critical push* is where it crosses one half, with a delta-method interval.

The mean field of the same world (:class:`adoption.world.meanfield.WorldMeanField`, built on the same kind
of graph) gives its own critical push: the smallest random push after which its path tips, averaged over a
few draws of the world's users (tasks beside the runs, on the same workers). On a well-mixed
graph the two should agree; on the clustered default graph money keeps landing on friends of the pushed
users, and the difference (with the network's interval) is what clustering, and targeting, move.

Examples
--------
>>> spec = TippingSpec(pushes=[0.0, 0.3], replicates=1, base={"n_users": 800, "end": "2014-12-31"})
>>> spec.scenario, spec.tip_share
('no_red_packets', 0.5)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adoption.analysis.funnel import proportion_interval
from adoption.errors import InputError, ParameterError
from adoption.intervals import normal_interval
from adoption.tasks import Task, open_run_folder, run_tasks, spawn_seeds, task_key, write_atomic
from adoption.world.batch import BATCH_USERS, batch_slices
from adoption.world.scenario import Scenario

__all__ = ["BATCH_USERS", "GRAPHS", "TippingResult", "TippingSpec", "bundled_tipping", "firth_logit", "fit_tipping", "read_tipping",
           "mean_field_critical_push", "mean_field_draw", "run_tipping", "scenario_verdicts", "tipping_batch", "tipping_probability",
           "tipping_run"]

#: The kinds of graph a tipping experiment can run on.
GRAPHS = ("clustered", "well_mixed")
SPEC_FILE, RUNS_FILE, RESULT_FILE = "spec.json", "runs.parquet", "tipping.json"


@dataclass
class TippingSpec:
    """A tipping experiment: the scenario, the pushes, the replicates, who is pushed and on what graph."""

    scenario: str = "no_red_packets"
    base: dict[str, Any] = field(default_factory=dict)
    pushes: list[float] = field(default_factory=lambda: [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2])
    replicates: int = 8
    target: str = "random"
    graph: str = "clustered"
    tip_share: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.pushes or any(not (0 <= p <= 1) for p in self.pushes):
            raise ParameterError(f"pushes: expected shares in [0, 1], got {self.pushes}")
        self.pushes = sorted(float(p) for p in set(self.pushes))
        if self.replicates < 1:
            raise ParameterError(f"replicates: expected at least 1, got {self.replicates}")
        if self.graph not in GRAPHS:
            raise ParameterError(f"graph: expected one of {', '.join(GRAPHS)}, got {self.graph!r}")
        if not 0 < self.tip_share < 1:
            raise ParameterError(f"tip_share: expected a share in (0, 1), got {self.tip_share}")
        self.scenario_for(self.pushes[-1])  # a bad parameter fails before anything runs

    def scenario_for(self, push: float) -> Scenario:
        """The scenario of one run: the base with the push."""
        return Scenario.named(self.scenario, **{**self.base, "push_share": push, "push_target": self.target})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _graph(scenario: Scenario, kind: str, seed: np.random.SeedSequence) -> Any:
    from adoption.world.graph import generate_graph
    from adoption.world.meanfield import well_mixed_graph

    if kind == "well_mixed":
        return well_mixed_graph(scenario.n_users, degree=max(1, int(round(scenario.mean_degree))), seed=np.random.default_rng(seed))
    return generate_graph(scenario.n_users, mean_degree=scenario.mean_degree, n_cities=scenario.n_cities,
                          seed=np.random.default_rng(seed))


def tipping_run(scenario: str, params: dict[str, Any], seed: int, graph: str = "clustered",
                tip_share: float = 0.5) -> dict[str, Any]:
    """One seeded run: the shares of users active and merchants accepting at the end, and whether it tipped.

    Examples
    --------
    >>> row = tipping_run("no_red_packets", {"n_users": 600, "end": "2014-06-30", "push_share": 0.2}, seed=1)
    >>> sorted(row)
    ['merchants_accepting_end', 'tipped', 'users_active_end']
    """
    from adoption.world.engine import run_world

    s = Scenario.named(scenario, **params)
    graph_seed, world_seed = np.random.SeedSequence(seed).spawn(2)
    return _outcome(run_world(s, _graph(s, graph, graph_seed), np.random.default_rng(world_seed)), tip_share)


def tipping_batch(scenario: str, params: dict[str, Any], pushes: list[float], seeds: list[int],
                  graph: str = "clustered", tip_share: float = 0.5) -> list[dict[str, Any]]:
    """Runs of one batch: world ``i`` pushed by ``pushes[i]`` and built from ``seeds[i]`` (its graph and its
    users exactly as :func:`tipping_run` builds them), the worlds run together (their days share the first
    world's random stream). One row per run: ``push``, ``seed`` and what :func:`tipping_run` returns.

    Examples
    --------
    >>> params = {"n_users": 600, "end": "2014-06-30"}
    >>> rows = tipping_batch("no_red_packets", params, [0.0, 0.3], [1, 2])
    >>> [row["push"] for row in rows], rows[1]["users_active_end"] > rows[0]["users_active_end"]
    ([0.0, 0.3], True)
    >>> one = tipping_batch("no_red_packets", {**params, "push_target": "random"}, [0.2], [1])[0]
    >>> one == {"push": 0.2, "seed": 1, **tipping_run("no_red_packets", {**params, "push_share": 0.2}, seed=1)}
    True
    """
    from adoption.world.batch import run_worlds

    scenarios = [Scenario.named(scenario, **{**params, "push_share": push}) for push in pushes]
    graph_seeds, world_seeds = zip(*(np.random.SeedSequence(seed).spawn(2) for seed in seeds), strict=True)
    graphs = [_graph(s, graph, g) for s, g in zip(scenarios, graph_seeds, strict=True)]
    worlds = run_worlds(scenarios, [np.random.default_rng(w) for w in world_seeds], graphs=graphs)
    return [{"push": float(push), "seed": int(seed), **_outcome(w, tip_share)}
            for push, seed, w in zip(pushes, seeds, worlds, strict=True)]


def _outcome(w: Any, tip_share: float) -> dict[str, Any]:
    users = float(np.mean(w.active < w.n_days))
    return {"users_active_end": users, "merchants_accepting_end": float(np.mean(w.m_accept < w.n_days)),
            "tipped": bool(users >= tip_share)}


@dataclass
class TippingResult:
    """A finished tipping experiment.

    Attributes
    ----------
    spec : TippingSpec
    runs : DataFrame
        One row per run: ``push``, ``replicate``, ``seed``, the final shares and ``tipped``.
    curve : DataFrame
        Per push: runs, tipped, the observed rate (Wilson interval), and the fitted probability with its
        95% interval.
    coef, cov : arrays
        Firth's logistic intercept and slope in the push, and their covariance.
    critical_push, critical_push_ci : float, (float, float)
        Where the fitted probability of tipping is one half, with its interval.
    separated : bool
        Whether the outcomes separate completely (Firth's estimate stays finite; pushes in the gap help).
    mean_field_critical_push : float
        The mean field's smallest random push that tips (same scenario, same kind of graph; the mean over
        draws of the users, :func:`mean_field_critical_push`).
    """

    spec: TippingSpec
    runs: pd.DataFrame
    curve: pd.DataFrame
    coef: np.ndarray
    cov: np.ndarray
    critical_push: float
    critical_push_ci: tuple[float, float]
    separated: bool
    mean_field_critical_push: float
    note: str = ""

    @property
    def difference(self) -> dict[str, float]:
        """The network's critical push minus the mean field's, with the network's interval."""
        mf = self.mean_field_critical_push
        return {"estimate": self.critical_push - mf, "ci_low": self.critical_push_ci[0] - mf,
                "ci_high": self.critical_push_ci[1] - mf}

    @property
    def agrees_with_mean_field(self) -> bool:
        """Whether the mean field's critical push lies in the network's interval."""
        low, high = self.critical_push_ci
        return bool(low <= self.mean_field_critical_push <= high)

    @property
    def monotone(self) -> bool:
        """Whether the fitted probability of tipping rises with the push."""
        fitted = self.curve["fitted"].to_numpy()
        return bool(np.all(np.diff(fitted) >= -1e-12))

    def summary(self) -> dict[str, Any]:
        """One row: the critical push with its interval, the mean field's, the difference, agreement."""
        return {"critical_push": self.critical_push, "ci_low": self.critical_push_ci[0],
                "ci_high": self.critical_push_ci[1], "mean_field_critical_push": self.mean_field_critical_push,
                "difference": self.difference["estimate"], "agrees_with_mean_field": self.agrees_with_mean_field,
                "runs": len(self.runs), "graph": self.spec.graph, "target": self.spec.target}

    def verdict(self) -> str:
        """The comparison in one sentence that says no more than the interval allows."""
        c, (low, high), mf = self.critical_push, self.critical_push_ci, self.mean_field_critical_push
        if not np.isfinite(c):
            return f"No critical push could be estimated ({self.note or 'see the curve'})."
        d = self.difference
        text = f"Critical push {c:.3f} [{low:.3f}, {high:.3f}] ({self.spec.graph.replace('_', '-')} graph, {self.spec.target} push)"
        if not np.isfinite(mf):
            return text + "; the mean field does not tip with any push."
        if self.agrees_with_mean_field:
            return text + f": the mean field's {mf:.3f} lies inside the interval, so the two agree here."
        side = "less" if d["estimate"] < 0 else "more"
        return (text + f": the network needs {side} than the mean field's {mf:.3f} (difference {d['estimate']:+.3f} "
                f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]).")

    def probability(self, pushes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The fitted probability of tipping at ``pushes``, with its 95% interval."""
        return tipping_probability(pushes, self.coef, self.cov)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``critical_push`` with ``ci_low``/``ci_high``, the mean field's, the difference, the curve."""
        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None
        return {"critical_push": {"estimate": num(self.critical_push), "ci_low": num(self.critical_push_ci[0]),
                                  "ci_high": num(self.critical_push_ci[1]), "separated": self.separated},
                "mean_field_critical_push": num(self.mean_field_critical_push),
                "difference": {k: num(v) for k, v in self.difference.items()},
                "agrees_with_mean_field": self.agrees_with_mean_field, "monotone": self.monotone,
                "note": self.note,
                "curve": [{k: (num(v) if isinstance(v, float) else v) for k, v in r.items()}
                          for r in self.curve.to_dict("records")],
                "spec": self.spec.to_dict()}


def firth_logit(x: np.ndarray, y: np.ndarray, max_iter: int = 100, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression of ``y`` on ``x`` (with an intercept) by Firth's penalized likelihood.

    Firth (1993) adds half the log-determinant of the information to the log-likelihood (Jeffreys'
    prior). The estimate is finite even when the outcomes separate completely, which tipping experiments
    produce as soon as the transition is sharp, and its small-sample bias is smaller than the maximum
    likelihood estimate's. Neither statsmodels nor scikit-learn has it; on data that do not separate it
    is close to statsmodels' ``GLM`` fit (tested), and on a 2x2 table it equals the log odds ratio with
    0.5 added to every cell (tested).

    Returns
    -------
    coef : array (2,)
        Intercept and slope.
    cov : array (2, 2)
        Their covariance (the inverse information at the estimate).

    Examples
    --------
    >>> coef, cov = firth_logit(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0, 1.0]))
    >>> np.round(coef, 4)  # log((2.5 / 0.5) / (0.5 / 2.5)) = log 25
    array([-1.6094,  3.2189])
    """
    from scipy.special import expit

    design = np.column_stack([np.ones(len(x)), np.asarray(x, dtype=float)])
    y = np.asarray(y, dtype=float)

    def penalized(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        p = expit(design @ beta)
        w = p * (1.0 - p)
        info = design.T @ (w[:, None] * design)
        sign, logdet = np.linalg.slogdet(info)
        with np.errstate(divide="ignore"):
            loglik = float(np.sum(y * np.log(p) + (1.0 - y) * np.log1p(-p)))
        return loglik + 0.5 * logdet if sign > 0 else -np.inf, p, w, info

    beta = np.zeros(2)
    value, p, w, info = penalized(beta)
    for _ in range(max_iter):
        cov = np.linalg.inv(info)
        hat = w * np.einsum("ij,jk,ik->i", design, cov, design)
        step = cov @ (design.T @ (y - p + hat * (0.5 - p)))
        for _halving in range(30):  # step halving keeps the penalized likelihood rising
            new_value, new_p, new_w, new_info = penalized(beta + step)
            if new_value >= value - 1e-12:
                break
            step = step / 2.0
        beta = beta + step
        value, p, w, info = new_value, new_p, new_w, new_info
        if np.max(np.abs(step)) < tol:
            break
    return beta, np.linalg.inv(info)


def fit_tipping(runs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, float, tuple[float, float], bool, str]:
    """Firth's logistic fit of ``tipped`` on ``push``: the curve, the coefficients and their covariance, the
    critical push (probability one half) with its delta-method interval, separation, a note.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> push = np.repeat(np.linspace(0, 0.2, 9), 30)
    >>> runs = pd.DataFrame({"push": push, "tipped": rng.random(len(push)) < 1 / (1 + np.exp(-(push - 0.1) / 0.02))})
    >>> curve, coef, cov, critical, (low, high), separated, note = fit_tipping(runs)
    >>> bool(low < 0.1 < high), separated
    (True, False)
    """
    by = runs.groupby("push")["tipped"]
    curve = pd.DataFrame({"runs": by.size(), "tipped": by.sum().astype(int)}).reset_index()
    curve["rate"] = curve["tipped"] / curve["runs"]
    curve["rate_ci_low"], curve["rate_ci_high"] = proportion_interval(curve["tipped"].to_numpy(), curve["runs"].to_numpy())
    y = runs["tipped"].to_numpy(dtype=float)
    x = runs["push"].to_numpy(dtype=float)
    fails, tips = x[y == 0], x[y == 1]
    separated = bool(len(fails) and len(tips) and fails.max() < tips.min())
    coef, cov = firth_logit(x, y)
    curve["fitted"], curve["fitted_ci_low"], curve["fitted_ci_high"] = tipping_probability(curve["push"], coef, cov)
    nan = float("nan")
    if y.min() == y.max():
        verdict = "every run tipped" if y[0] else "no run tipped"
        return curve, coef, cov, nan, (nan, nan), False, f"{verdict}: the critical push is outside the pushes tried"
    b0, b1 = coef
    if b1 <= 0:
        return curve, coef, cov, nan, (nan, nan), separated, "the fitted probability of tipping does not rise with the push"
    critical = -b0 / b1
    grad = np.array([-1.0 / b1, b0 / b1**2])
    se = float(np.sqrt(grad @ cov @ grad))
    note = ("the outcomes separate completely (every run below some push stalled, every run above tipped): "
            "Firth's estimate is finite, but pushes in the gap would narrow the interval") if separated else ""
    return curve, coef, cov, float(critical), tuple(float(b) for b in normal_interval(critical, se)), separated, note


def tipping_probability(pushes: Any, coef: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fitted probability of tipping at ``pushes`` with its 95% interval (on the logit scale)."""
    from scipy.special import expit

    x = np.asarray(pushes, dtype=float)
    design = np.column_stack([np.ones(len(x)), x])
    eta = design @ coef
    se = np.sqrt(np.einsum("ij,jk,ik->i", design, cov, design))
    low, high = normal_interval(eta, se)  # on the logit scale
    return expit(eta), expit(low), expit(high)


def mean_field_critical_push(spec: TippingSpec, draws: int = 4, seed: int = 0) -> float:
    """The mean field's smallest random push that tips, averaged over ``draws`` draws of the world's users
    (each draw's classes carry its sampling noise; the network's runs each have their own draw too).

    Examples
    --------
    >>> spec = TippingSpec(base={"n_users": 1000, "end": "2014-12-31"}, pushes=[0.0, 0.5])
    >>> 0 < mean_field_critical_push(spec, draws=1) < 1
    True
    """
    return float(np.mean([mean_field_draw(spec, seed, draw, draws)["mean_field_push"] for draw in range(draws)]))


def mean_field_draw(spec: TippingSpec, seed: int, draw: int, draws: int) -> dict[str, float]:
    """One of :func:`mean_field_critical_push`'s draws (a task of its own in :func:`run_tipping`):
    ``{"mean_field_push": the smallest random push after which this draw's mean field tips}``."""
    from adoption.world.meanfield import WorldMeanField

    base = spec.scenario_for(0.0)
    graph_seed, draw_seed = np.random.SeedSequence(seed).spawn(draws)[draw].spawn(2)
    graph = _graph(base, spec.graph, graph_seed) if spec.graph == "well_mixed" else None
    mean_field = WorldMeanField(base, seed=np.random.default_rng(draw_seed), graph=graph)
    return {"mean_field_push": mean_field.smallest_push(spec.tip_share)}


def run_tipping(spec: TippingSpec, out: str | os.PathLike[str], *, workers: int | None = None,
                scheduler: Any = None, progress: bool = True, mean_field_seed: int = 0,
                mean_field_draws: int = 4) -> TippingResult:
    """Run (or resume) a tipping experiment into the folder ``out`` and return its result.

    Writes ``runs.parquet`` (every run), ``tipping.json`` (the curve, the critical pushes, the difference)
    and ``parts/``; an existing folder is resumed only when it holds the same experiment.
    """
    out = open_run_folder(Path(out), spec.to_dict(), SPEC_FILE)
    jobs = [(p, r) for p in spec.pushes for r in range(spec.replicates)]
    seeds = spawn_seeds(spec.seed, len(jobs))
    # the mean field's draws are tasks too, first (the longest): beside the runs, on the same workers, and
    # kept in parts/ for a resumed experiment
    tasks = [Task(key=task_key(i, kind="tipping_mean_field", spec=spec.to_dict(), seed=mean_field_seed, draws=mean_field_draws),
                  function=mean_field_draw, args=(spec, mean_field_seed, i, mean_field_draws),
                  labels={"mean_field_draw": i}) for i in range(mean_field_draws)]
    # the runs: each replicate's pushes as batches of worlds run together (a batch's worlds share the days'
    # random stream: the pushes of a replicate meet the same days, common random numbers for the curve)
    params = {**spec.base, "push_target": spec.target}
    batches = batch_slices(len(spec.pushes), spec.scenario_for(0.0).n_users, BATCH_USERS)
    seed_of = dict(zip(jobs, seeds, strict=True))
    for r in range(spec.replicates):
        for batch in batches:
            pushes = [spec.pushes[i] for i in batch]
            batch_seeds = [seed_of[(push, r)] for push in pushes]
            tasks.append(Task(key=task_key(len(tasks), kind="tipping_batch", scenario=spec.scenario, params=params,
                                           pushes=pushes, seeds=batch_seeds, graph=spec.graph, tip_share=spec.tip_share),
                              function=tipping_batch,
                              args=(spec.scenario, params, pushes, batch_seeds, spec.graph, spec.tip_share),
                              labels={"replicate": r}))
    rows = run_tasks(tasks, out / "parts", workers=workers, scheduler=scheduler, progress=progress,
                     description="tipping runs", preload=("adoption.world.batch", "adoption.world.meanfield"))
    mean_field = [row["mean_field_push"] for row in rows if "mean_field_draw" in row]
    columns = ["push", "replicate", "seed", "users_active_end", "merchants_accepting_end", "tipped"]
    runs = pd.DataFrame([row for row in rows if "mean_field_draw" not in row], columns=columns)
    position = {push: i for i, push in enumerate(spec.pushes)}  # the spec's order: push after push
    runs = runs.iloc[np.lexsort((runs["replicate"].to_numpy(), runs["push"].map(position).to_numpy()))]
    runs = runs.reset_index(drop=True)
    if runs.empty:
        raise InputError("tipping: no run finished")
    curve, coef, cov, critical, ci, separated, note = fit_tipping(runs)
    mf_critical = float(np.mean(mean_field)) if mean_field else float("nan")
    if len(runs) < len(jobs):
        note = (note + "; " if note else "") + f"{len(runs)} of {len(jobs)} runs finished"
    if len(mean_field) < mean_field_draws:
        note = (note + "; " if note else "") + f"{len(mean_field)} of {mean_field_draws} mean-field draws finished"
    result = TippingResult(spec, runs, curve, coef, cov, critical, ci, separated, mf_critical, note)
    import pyarrow as pa

    write_atomic(pa.Table.from_pandas(runs, preserve_index=False), out / RUNS_FILE)
    tmp = out / f".{RESULT_FILE}.tmp"
    tmp.write_text(json.dumps(result.to_dict(), indent=1))
    tmp.replace(out / RESULT_FILE)
    return result


def read_tipping(path: str | os.PathLike[str]) -> TippingResult:
    """A tipping folder written by :func:`run_tipping`, as its result (the fit is recomputed from the runs)."""
    path = Path(path)
    try:
        raw = json.loads((path / RESULT_FILE).read_text())
        runs = pd.read_parquet(path / RUNS_FILE)
    except (OSError, ValueError) as exc:
        raise InputError(f"tipping: {path} is not a finished tipping folder ({type(exc).__name__})") from None
    curve, coef, cov, critical, ci, separated, note = fit_tipping(runs)
    mf = raw["mean_field_critical_push"]
    return TippingResult(TippingSpec(**raw["spec"]), runs, curve, coef, cov, critical, ci, separated,
                         float("nan") if mf is None else float(mf), raw.get("note", note))


def bundled_tipping() -> dict[str, Path]:
    """The tipping experiments shipped with the package (``adoption/datasets/tipping``), by name:
    ``clustered_random``, ``clustered_degree`` (the most connected pushed first), ``well_mixed_random``."""
    from adoption.datasets.reference import data_dir

    folder = data_dir() / "tipping"
    names = ("clustered_random", "clustered_degree", "well_mixed_random")
    return {name: folder / name for name in names if (folder / name / RESULT_FILE).exists()}


def scenario_verdicts(names: list[str], users: int, seed: int = 0, tip_share: float = 0.5,
                      states: Mapping[str, pd.DataFrame] | None = None, **overrides: Any) -> pd.DataFrame:
    """For each named scenario: does its mean field tip, does the simulated run tip, and where they differ, why.

    Each scenario's start is placed in its own mean field (:class:`~adoption.world.meanfield.WorldMeanField`
    of that scenario); the simulated run uses the same users, seed and period.

    ``states``: scenarios' true daily states simulated already with the same users, seed and overrides
    (:func:`~adoption.world.simulate.simulate_with_states`, which gives the event log of the same run); the
    others are simulated here.

    Returns
    -------
    DataFrame indexed by scenario: ``users_start``, ``merchants_start``, ``mean_field_end``,
    ``simulated_end``, ``mean_field_tips``, ``simulated_tips``, ``agree`` and ``why`` (empty when they agree).

    Examples
    --------
    >>> v = scenario_verdicts(["no_red_packets"], users=800, end="2014-12-31")
    >>> bool(v.loc["no_red_packets", "agree"])
    True
    """
    from adoption.world.meanfield import WorldMeanField
    from adoption.world.simulate import simulate_states

    rows, paths = {}, {}
    for name in names:
        scenario = Scenario.named(name, **{"n_users": users, **overrides})
        simulated = states[name] if states is not None and name in states else simulate_states(scenario, seed=seed)
        mean_field = WorldMeanField(scenario, seed=seed)
        path = mean_field.path()
        paths[name] = {"mean field": path, "simulated": simulated}
        mf_end, sim_end = float(path["users_active"].iloc[-1]), float(simulated["users_active"].iloc[-1])
        mf_tips, sim_tips = mf_end >= tip_share, sim_end >= tip_share
        why = ""
        if mf_tips != sim_tips:
            why = (f"the mean field ends at {mf_end:.2f} and the simulation at {sim_end:.2f} of users active, on "
                   f"either side of {tip_share:.2f}: " + (
                       "money and paying friends reach everyone at the average rate in the mean field, while in the "
                       "network they land again and again on the friends of those who already have them"
                       if mf_end > sim_end else
                       "in the network the first users are the well-connected ones, whose friends adopt together; "
                       "the mean field spreads them evenly"))
        rows[name] = {"users_start": float(simulated["users_active"].iloc[0]),
                      "merchants_start": float(simulated["merchants_accepting"].iloc[0]),
                      "mean_field_end": mf_end, "simulated_end": sim_end, "mean_field_tips": mf_tips,
                      "simulated_tips": sim_tips, "agree": mf_tips == sim_tips, "why": why}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("scenario")
    table.attrs["paths"] = paths
    return table
