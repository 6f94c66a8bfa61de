"""Network diffusion of one log, summarised: curves, exposure, thresholds, the hazard model, the contagion test.

:class:`NetworkDiffusion` runs the analyses of :mod:`adoption.analysis.network_exposure` and
:mod:`adoption.analysis.contagion_test` on a log and gathers what ``adoption diffusion`` prints and the
``diffusion`` report shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adoption.analysis.contagion_test import contagion_test
from adoption.analysis.network_exposure import (
    NEVER,
    DiffusionNetwork,
    ExposureHazard,
    community_curves,
    exposure_at_adoption,
)
from adoption.interpret import permutation_p_reading
from adoption.log.eventlog import EventLog
from adoption.random import SeedLike, as_generator

__all__ = ["NetworkDiffusion"]


class NetworkDiffusion:
    """Adoption curves by community, exposure and thresholds, the exposure hazard and the contagion tests.

    Parameters
    ----------
    definition : str, default "first_payment"
        Adoption for logs without an ``adoptions`` table (exposure = contacts already paying).
    period_days : float, default 7
        The period of logs that are not imported surveys.
    draws : int, default 999
        Re-draws of each contagion test.
    seed : int or Generator, optional

    Attributes
    ----------
    network_ : DiffusionNetwork
    curves_, communities_ : DataFrame
        From :func:`~adoption.analysis.network_exposure.community_curves`.
    exposure_ : DataFrame
        Exposure and threshold per adopter (:func:`~adoption.analysis.network_exposure.exposure_at_adoption`).
    hazard_ : ExposureHazard
    permutation_, rewiring_ : ContagionTest
        The contagion test with adoption times permuted within communities, and with contacts rewired.

    Examples
    --------
    >>> from adoption.datasets.real import load_real
    >>> fit = NetworkDiffusion(draws=99, seed=0).fit(load_real("medical_innovation"))
    >>> fit.to_dict()["adopters_by_period"][:4]
    [11, 9, 9, 11]
    """

    def __init__(self, definition: str = "first_payment", period_days: float = 7.0, draws: int = 999,
                 seed: SeedLike = None) -> None:
        self.definition = definition
        self.period_days = period_days
        self.draws = draws
        self.seed = seed

    def fit(self, log: EventLog) -> NetworkDiffusion:
        """Read the network and run every analysis."""
        net = DiffusionNetwork.from_log(log, self.definition, period_days=self.period_days)
        self.network_ = net
        self.curves_, self.communities_ = community_curves(net)
        self.exposure_ = exposure_at_adoption(net)
        rng = as_generator(self.seed)
        self.hazard_ = ExposureHazard(seed=rng).fit(net)
        self.permutation_ = contagion_test(net, draws=self.draws, null="permute", seed=rng)
        self.rewiring_ = contagion_test(net, draws=self.draws, null="rewire", seed=rng)
        return self

    def verdict(self) -> str:
        """What the contagion test and the hazard model say, and what they cannot."""
        p, h = self.permutation_.p_value, self.hazard_
        test = ("Permutation test of adopters' exposure against the communities' own adoption curves: "
                + permutation_p_reading(p, len(self.permutation_.null),
                                        what="contagion beyond timing").rstrip("."))
        model = (f"; with period and community effects, full exposure multiplies the odds of adopting by "
                 f"{h.odds_ratio_:.2f} [{h.ci_low_:.2f}, {h.ci_high_:.2f}]"
                 + (" (no evidence either way)" if h.ci_low_ <= 1 <= h.ci_high_ else ""))
        return (test + model + ". Homophily and outside influence (marketing, agents) that reach contacts together "
                "raise exposure too; these data do not record them.")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: ``communities`` (``community``, ``size``, ``adopters``, ``saturation``, ``time_to_half``),
        ``adopters_by_period``, ``contagion_test_p`` (permutation), the rewiring test, exposure and threshold
        summaries and the exposure hazard."""
        net = self.network_
        by_period = self.curves_.groupby("period")["adopters"].sum()
        comm = self.communities_.replace({np.nan: None})
        return {
            "unit": net.unit, "periods": net.n_periods, "users": len(net.users),
            "adopters": int((net.period != NEVER).sum()), "contacts": len(net.ego),
            "communities": [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                            for row in comm.to_dict("records")],
            "adopters_by_period": [int(v) for v in by_period.to_numpy()],
            "contagion_test_p": self.permutation_.p_value,
            "contagion_test": self.permutation_.to_dict(), "rewiring_test": self.rewiring_.to_dict(),
            "mean_exposure_at_adoption": float(self.exposure_["exposure"].mean()) if len(self.exposure_) else None,
            "mean_threshold": float(self.exposure_["threshold"].mean()) if len(self.exposure_) else None,
            "exposure_odds_ratio": self.hazard_.odds_ratio_, "exposure_odds_ratio_ci_low": self.hazard_.ci_low_,
            "exposure_odds_ratio_ci_high": self.hazard_.ci_high_, "exposure_p": self.hazard_.p_,
            "exposure_model_n_used": self.hazard_.n_users_, "exposure_model_users_at_risk": self.hazard_.users_at_risk_,
            "verdict": self.verdict(),
        }

    def thresholds(self) -> pd.DataFrame:
        """Adopters' thresholds by adoption period (Valente's early / late adopters with low / high thresholds)."""
        return self.exposure_.groupby("period")["threshold"].agg(["count", "mean"]).reset_index()
