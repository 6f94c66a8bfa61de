"""Scenarios: every parameter of the red-packet world, with its default, unit and allowed range.

A :class:`Scenario` is an immutable set of parameters. Named scenarios (``default``, ``launch_2014``,
``festival_2015``, ``no_red_packets``, ``merchant_subsidy_only``) live in one file,
``scenarios.yaml``, as overrides of the defaults. Bad values give an error naming the parameter and its
allowed range.

Examples
--------
>>> s = Scenario.named("no_red_packets", n_users=5_000)
>>> s.red_packets, s.n_users
(False, 5000)
>>> Scenario(send_rate=-1)
Traceback (most recent call last):
...
adoption.errors.ParameterError: send_rate: expected a number in [0, 10] (red packets per active user per day), got -1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from adoption.errors import ParameterError
from adoption.log.contract import TIME_RANGE

__all__ = ["Scenario", "named_scenarios", "scenario_names", "scenario_starts"]


#: Where a parameter's value comes from when nothing more specific is said: a modelling choice.
ASSUMPTION = "assumption"
#: The parameters set by the documented search of the default scenario.
CALIBRATED = "calibrated to the 80% and the cold start (docs/calibration.md)"


def _p(default: Any, unit: str, low: float | None = None, high: float | None = None, doc: str = "",
       source: str = ASSUMPTION) -> Any:
    return field(default=default, metadata={"unit": unit, "low": low, "high": high, "doc": doc, "source": source})


def _choice(default: str, choices: tuple[str, ...], doc: str, source: str = ASSUMPTION) -> Any:
    return field(default=default, metadata={"unit": "choice", "low": None, "high": None, "choices": choices,
                                            "doc": doc, "source": source})


@dataclass(frozen=True)
class Scenario:
    """Parameters of a simulation run. All rates are per day; money is in cents.

    Use :meth:`named` for a named scenario, :meth:`replace` to change parameters, and :meth:`describe`
    for the table of parameters with units and ranges.
    """

    # --- period and population
    start: str = _p("2014-01-01", "date", doc="first simulated day (CST)")
    end: str = _p("2015-12-31", "date", doc="last simulated day, inclusive")
    red_packet_launch: str = _p("2014-01-27", "date", doc="day the red-packet feature launched", source='Tencent: the red-packet feature went live on 27 January 2014')
    n_users: int = _p(20_000, "users", 10, 1e9, "number of users")
    mean_degree: float = _p(10.0, "friends", 1, 500, "mean number of friends")
    n_cities: int = _p(20, "cities", 1, 1000, "number of cities")
    joined_before_share: float = _p(0.8, "share", 0, 1, "share of users on WeChat before the start; the rest join during the period")
    initial_active_share: float = _p(0.02, "share", 0, 1, "share of users paying with the wallet before the start (card bound)")
    # --- red packets
    red_packets: bool = _p(True, "flag", doc="whether the red-packet feature exists")
    send_rate: float = _p(0.006, "red packets per active user per day", 0, 10, "base sending rate on an ordinary day")
    group_packet_share: float = _p(0.6, "share", 0, 1, "share of red packets sent into a chat group")
    mean_shares: float = _p(5.0, "shares", 1, 100, "mean number of shares of a group packet (capped by the group's size)")
    lucky_share: float = _p(0.85, "share", 0, 1, "share of group packets split by the lucky-money rule (the rest are fixed splits)")
    group_amount_median_cents: int = _p(1_000, "cents", 1, 20_000, "median amount of a group packet")
    direct_amount_median_cents: int = _p(2_000, "cents", 1, 20_000, "median amount of a one-to-one packet")
    amount_sigma: float = _p(0.8, "log-sd", 0, 3, "spread of packet amounts")
    open_prob: float = _p(0.7, "probability", 0, 1, "chance that a group member opens a group packet within 24 h")
    direct_claim_prob: float = _p(0.97, "probability", 0, 1, "chance that a one-to-one packet is claimed")
    group_claim_delay_minutes: float = _p(8.0, "minutes", 0.01, 1440, "median delay from send to opening, group packets")
    direct_claim_delay_minutes: float = _p(45.0, "minutes", 0.01, 1440, "median delay from send to claim, one-to-one")
    eve_multiplier: float = _p(30.0, "x ordinary day", 1, 1000, "sending on Chinese New Year's Eve", source='chosen with the public Eve and ordinary-day counts in mind (data/reference); not fitted')
    spring_festival_multiplier: float = _p(12.0, "x ordinary day", 1, 1000, "sending on the first day of the new year")
    festival_week_multiplier: float = _p(4.0, "x ordinary day", 1, 1000, "sending on days 2-6 of the new year (decaying)")
    qixi_multiplier: float = _p(4.0, "x ordinary day", 1, 1000, "sending on Qixi")
    mid_autumn_multiplier: float = _p(5.0, "x ordinary day", 1, 1000, "sending on Mid-Autumn")
    habit_gain: float = _p(0.15, "x base rate per packet sent", 0, 10, "how much each packet sent raises the sender's own rate (habit)")
    habit_cap: int = _p(10, "packets", 0, 1000, "packets after which the habit stops growing")
    contagion_units_back: float = _p(0.18, "cents sent per cent received", 0, 5, "gift contagion: money sent back into the group within 24 h per unit received, by receivers other than the packet's luckiest draw (Yuan et al. 2024)", source='Yuan et al. 2024 (gift contagion in WeChat groups)')
    luckiest_boost: float = _p(1.5, "x", 1, 10, "how much more likely the luckiest receiver of a packet sends back", source='Yuan et al. 2024 (the luckiest draw reciprocates more); its size an assumption')
    # --- transfers
    transfer_rate: float = _p(0.0008, "transfers per active user per day", 0, 10, "rate of transfers to friends", source=CALIBRATED)
    transfer_amount_median_cents: int = _p(10_000, "cents", 1, 10_000_000, "median transfer")
    transfer_festival_multiplier: float = _p(2.0, "x ordinary day", 1, 100, "transfers on the Eve and Spring Festival")
    # --- users: the value of the wallet against the cost of adopting (see adoption.world.value)
    adoption_rate: float = _p(0.1, "per day", 0.0001, 10, "how fast a user acts whose wallet is worth far more than its cost (the ceiling of the activation hazard)")
    cost_mean: float = _p(7.6, "value units", -20, 20, "mean cost of adopting: binding a card, trust, habit (calibrated: 80% of receivers active within 90 days)", source=CALIBRATED)
    cost_sd: float = _p(0.8, "value units", 0, 10, "spread of the unobserved part of the cost", source=CALIBRATED)
    cost_degree_effect: float = _p(1.5, "value units per log degree", -5, 5, "lower cost for users with more friends than average (observable: friends)", source=CALIBRATED)
    cost_rural: float = _p(1.0, "value units", -5, 5, "extra cost outside the large cities (observable: city)", source=CALIBRATED)
    engagement_cost_effect: float = _p(0.6, "value units per sd", 0, 5, "lower cost per sd of unobserved engagement (selection no covariate adjusts)")
    engagement_open_effect: float = _p(0.8, "log-odds per sd", 0, 5, "engaged users open more group packets: selection into receiving")
    value_money: float = _p(4.2, "value units per log(1 + yuan)", 0, 20, "value of money waiting in the wallet (received, unspent: spendable only after binding a card)", source=CALIBRATED)
    value_paying_friends: float = _p(0.4, "value units per log(1 + friends)", 0, 20, "peer-to-peer value: friends who pay with the wallet")
    value_merchants: float = _p(2.0, "value units per merchant share", 0, 50, "cross-side value: the share of local merchants that accept the wallet")
    value_festival: float = _p(0.3, "value units per log multiplier", 0, 10, "festival context (the day's red-packet multiplier)")
    withdraw_bind_share: float = _p(0.15, "share", 0, 1, "share of receivers who bind a card to withdraw, whether or not they pay")
    holdout_share: float = _p(0.05, "share", 0, 0.5, "randomized holdout: users who cannot receive (money sent to them is refused; the truth of the effect of receiving)")
    # --- merchants: the value of accepting (local paying users) against their cost
    merchants_per_1000_users: float = _p(20.0, "merchants", 0, 10_000, "merchants per thousand users")
    initial_merchant_share: float = _p(0.03, "share", 0, 1, "share of merchants accepting the wallet at the start")
    merchant_rate: float = _p(0.05, "per day", 0.0001, 10, "how fast a merchant acts whose acceptance is worth far more than its cost")
    merchant_benefit: float = _p(10.0, "value units per user share", 0, 100, "cross-side value: the share of local users who pay with the wallet", source=CALIBRATED)
    merchant_cost_mean: float = _p(6.5, "value units", -20, 20, "mean cost of accepting (a terminal, fees, staff time)", source=CALIBRATED)
    merchant_cost_sd: float = _p(1.0, "value units", 0, 10, "spread of merchants' costs")
    merchant_subsidy: float = _p(0.0, "value units", 0, 20, "cost taken off merchants during the subsidy")
    subsidy_start: str = _p("2014-03-01", "date", doc="first day of the merchant subsidy")
    subsidy_end: str = _p("2014-12-31", "date", doc="last day of the merchant subsidy")
    payment_rate: float = _p(0.015, "payments per active user per day", 0, 10, "rate of payments where local merchants accept")
    payment_amount_median_cents: int = _p(3_000, "cents", 1, 10_000_000, "median payment")
    # --- leaving
    leave_hazard: float = _p(0.0002, "per day", 0, 1, "hazard of leaving the service")
    # --- QR-code campaigns
    campaigns: bool = _p(True, "flag", doc="run the QR-code poster campaign")
    campaign_start: str = _p("2015-06-01", "date", doc="first day of the campaign")
    campaign_days: int = _p(45, "days", 1, 3650, "length of the campaign")
    campaign_scans_per_1000_users: float = _p(2.0, "scans per day per 1000 users", 0, 10_000, "direct scans of the posters and account")
    share_prob: float = _p(0.3, "probability", 0, 1, "chance that a buyer shares the campaign to Moments")
    referred_scans_per_share: float = _p(2.0, "scans", 0, 100, "mean scans by friends per share")
    # --- the O2O loop: follow-up messages and return visits to the campaign's merchant
    follow_up_share: float = _p(0.5, "share", 0, 1, "share of campaign buyers sent a follow-up message (at random) a day after buying")
    return_rate: float = _p(0.01, "visits per day", 0, 10, "rate at which campaign buyers come back to buy again")
    follow_up_lift: float = _p(1.5, "x return rate", 0, 100, "return rate after a follow-up message, relative to none")
    # --- an initial push (the tipping experiment): money put into some wallets before the first day
    push_share: float = _p(0.0, "share", 0, 1, "share of users given wallet money before the first day (outside the log: no sender)")
    push_yuan: float = _p(10.0, "yuan", 0, 1e6, "money given to each pushed user")
    push_target: str = _choice("random", ("random", "degree", "city"), "who is pushed: users at random, the most connected first, or whole cities (largest first)")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            unit = f.metadata["unit"]
            if unit == "date":
                try:
                    stamp = pd.Timestamp(value)
                except (ValueError, TypeError, OverflowError):
                    raise ParameterError(f"{f.name}: expected a date like 2014-01-27, got {value!r}") from None
                if stamp is pd.NaT or not pd.Timestamp(TIME_RANGE[0]) <= stamp < pd.Timestamp(TIME_RANGE[1]):
                    raise ParameterError(f"{f.name}: expected a date in {TIME_RANGE[0][:4]}-{TIME_RANGE[1][:4]}, "
                                         f"got {value!r}")
                continue
            if unit == "choice":
                if value not in f.metadata["choices"]:
                    raise ParameterError(f"{f.name}: expected one of {', '.join(f.metadata['choices'])}, got {value!r}")
                continue
            if unit == "flag":
                if not isinstance(value, bool):
                    raise ParameterError(f"{f.name}: expected true or false, got {value!r}")
                continue
            low, high = f.metadata["low"], f.metadata["high"]
            is_int = f.type in ("int", int)
            ok_type = isinstance(value, int) if is_int else isinstance(value, int | float)
            if isinstance(value, bool) or not ok_type or not (low <= value <= high):
                kind = "an integer" if is_int else "a number"
                raise ParameterError(f"{f.name}: expected {kind} in [{low:g}, {high:g}] ({unit}), got {value!r}")
        if pd.Timestamp(self.end) < pd.Timestamp(self.start):
            raise ParameterError(f"end: expected a date on or after start ({self.start}), got {self.end}")

    # ------------------------------------------------------------ creation
    @classmethod
    def named(cls, name: str = "default", **overrides: Any) -> Scenario:
        """A named scenario from ``scenarios.yaml``, with optional overrides.

        Examples
        --------
        >>> Scenario.named("festival_2015").start
        '2014-12-01'
        """
        table = named_scenarios()
        if name not in table:
            raise ParameterError(f"scenario: unknown name {name!r}; expected one of {', '.join(table)}")
        params = {**(table[name].get("parameters") or {}), **overrides}
        return cls.from_dict(params)

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> Scenario:
        """Build from a mapping, refusing unknown names."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParameterError(f"{unknown[0]}: unknown scenario parameter; expected one of {', '.join(sorted(known))}")
        return cls(**{k: _normalise(cls, k, v) for k, v in params.items()})

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some parameters changed (checked like the constructor)."""
        return Scenario.from_dict({**self.to_dict(), **changes})

    def set_from_strings(self, assignments: list[str]) -> Scenario:
        """Apply ``key=value`` strings (from the command line), converting each value to its parameter's type.

        Examples
        --------
        >>> Scenario().set_from_strings(["send_rate=0.02", "red_packets=false"]).red_packets
        False
        """
        changes: dict[str, Any] = {}
        types = {f.name: f for f in fields(self)}
        for item in assignments:
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep:
                raise ParameterError(f"--set: expected key=value, got {item!r}")
            if key not in types:
                raise ParameterError(f"{key}: unknown scenario parameter; expected one of {', '.join(sorted(types))}")
            changes[key] = _parse_value(types[key], text.strip())
        return self.replace(**changes)

    # -------------------------------------------------------------- output
    def to_dict(self) -> dict[str, Any]:
        """All parameters as a plain dict."""
        return dataclasses.asdict(self)

    @classmethod
    def describe(cls) -> pd.DataFrame:
        """Every parameter with its default, unit, range, meaning and the source of its value."""
        rows = []
        for f in fields(cls):
            m = f.metadata
            rng = "|".join(m["choices"]) if m["unit"] == "choice" else "" if m["low"] is None else f"[{m['low']:g}, {m['high']:g}]"
            rows.append({"parameter": f.name, "default": f.default, "unit": m["unit"], "range": rng,
                         "meaning": m["doc"], "source": m["source"]})
        return pd.DataFrame(rows)

    # --------------------------------------------------------------- dates
    @property
    def n_days(self) -> int:
        """Number of simulated days."""
        return int((pd.Timestamp(self.end) - pd.Timestamp(self.start)).days) + 1

    def day_of(self, date: str) -> float:
        """Days from the start to ``date`` (midnight)."""
        return float((pd.Timestamp(date) - pd.Timestamp(self.start)).days)


def _normalise(cls: type[Scenario], key: str, value: Any) -> Any:
    f = {f.name: f for f in fields(cls)}[key]
    if f.metadata["unit"] == "date" and not isinstance(value, str):
        return str(pd.Timestamp(value).date())
    if f.type in ("float", float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _parse_value(f: dataclasses.Field, text: str) -> Any:
    unit = f.metadata["unit"]
    if unit in ("date", "choice"):
        return text
    if unit == "flag":
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise ParameterError(f"{f.name}: expected true or false, got {text!r}")
    try:
        return int(text) if f.type in ("int", int) else float(text)
    except ValueError:
        kind = "an integer" if f.type in ("int", int) else "a number"
        raise ParameterError(f"{f.name}: expected {kind}, got {text!r}") from None


def named_scenarios() -> dict[str, dict[str, Any]]:
    """The named scenarios shipped with the package: name -> description and parameter changes."""
    text = resources.files("adoption.world").joinpath("scenarios.yaml").read_text()
    return yaml.safe_load(text)


def scenario_names() -> list[str]:
    """Names of the named scenarios, with ``default`` first.

    Examples
    --------
    >>> scenario_names()[:2]
    ['default', 'launch_2014']
    """
    return list(named_scenarios())


def scenario_starts(names: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Where named simulator scenarios start in (users, merchants) space: their initial adopting shares.

    Examples
    --------
    >>> [round(x, 3) for x in scenario_starts(["default", "festival_2015"])["festival_2015"]]
    [0.2, 0.2]
    """
    out = {}
    for name in names:
        s = Scenario.named(name)
        # only users on WeChat before the start can already pay
        out[name] = (float(s.initial_active_share * s.joined_before_share), float(s.initial_merchant_share))
    return out
