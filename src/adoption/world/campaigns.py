"""The QR campaign and the O2O loop: posters and an official account are scanned, active scanners buy,
buyers share to Moments (bringing their friends' scans), and buyers get a follow-up message and come back.

The campaign runs in the first city for ``campaign_days`` from ``campaign_start``; its merchant sells only
through scans. The channels' scan shares and conversion rates are assumptions of the example campaign,
not public figures.
"""

from __future__ import annotations

import warnings

import numpy as np

from adoption.random import stepped_poisson
from adoption.world.draws import MerchantsByCity, earliest_per_user, present_at, random_friend, times_in_day
from adoption.world.mechanisms import pay
from adoption.world.state import NEVER, CampaignWorld, WorldState

__all__ = ["ANONYMOUS_SCAN_SHARE", "BUY_DELAY_MEDIAN_MINUTES", "BUY_DELAY_SIGMA", "CAMPAIGN_CHANNELS",
           "FOLLOW_UP_AFTER_DAYS", "FOLLOW_UP_WITHIN_HOURS", "MAX_REFERRAL_GENERATIONS", "MOMENTS_CONVERSION",
           "REFERRED_SCAN_DELAY_MEAN_DAYS", "SHARE_DELAY_MEAN_DAYS", "add_campaign_merchant", "campaign_day",
           "follow_up", "start_campaign"]

#: The QR campaign's channels: (channel, placement, share of direct scans, scan-to-purchase rate).
CAMPAIGN_CHANNELS: tuple[tuple[str, str | None, float, float], ...] = (
    ("poster", "metro", 0.35, 0.06),
    ("poster", "campus", 0.25, 0.10),
    ("poster", "mall", 0.20, 0.04),
    ("official_account", None, 0.20, 0.15),
)
#: Scan-to-purchase rate of scans that come from a share to Moments.
MOMENTS_CONVERSION = 0.12
#: Share of scans made without a logged-in user (no user_id; cannot buy).
ANONYMOUS_SCAN_SHARE = 0.1
#: Minutes from scan to purchase: lognormal with this median and log-spread.
BUY_DELAY_MEDIAN_MINUTES = 5.0
BUY_DELAY_SIGMA = 0.8
#: Mean days from a purchase to the share to Moments (about half an hour), and from the share to a
#: friend's scan (about six hours).
SHARE_DELAY_MEAN_DAYS = 0.02
REFERRED_SCAN_DELAY_MEAN_DAYS = 0.25
#: Generations of sharing followed within a day; the chains die out long before (fewer than one referred
#: purchase per purchase). When the cap is hit the rest is dropped and a warning says so.
MAX_REFERRAL_GENERATIONS = 50
#: The follow-up message is sent this many days after the first purchase, within the next this-many hours.
FOLLOW_UP_AFTER_DAYS = 1.0
FOLLOW_UP_WITHIN_HOURS = 1.0


def start_campaign(w: WorldState) -> None:
    """Before the first day: the campaign's own merchant, when the scenario runs the campaign within the
    period and the world has none yet (worlds joined into one bring theirs: :mod:`adoption.world.batch`)."""
    s = w.s
    campaign_from = s.day_of(s.campaign_start)
    if s.campaigns and campaign_from < w.n_days and not w.campaign_worlds:
        add_campaign_merchant(w, campaign_from)


def add_campaign_merchant(w: WorldState, campaign_from: float) -> None:
    """The campaign's own merchant (the concert's ticket desk, category ``events``), accepting from the eve
    of the campaign; it sells only through the campaign's scans."""
    w.m_city = np.r_[w.m_city, 0]
    w.m_accept = np.r_[w.m_accept, max(campaign_from - 1.0, -1.0)]
    w.m_threshold = np.r_[w.m_threshold, NEVER]
    w.m_H = np.r_[w.m_H, 0.0]
    w.m_cost = np.r_[w.m_cost, NEVER]
    w.m_category = np.append(w.m_category.astype(object), "events")
    w.m_campaign = np.r_[w.m_campaign, True]
    w.campaign_merchant = len(w.m_accept) - 1
    w.campaign_worlds = [CampaignWorld(np.flatnonzero(w.city == 0), w.n, w.campaign_merchant, 0, w.n)]


def campaign_day(w: WorldState, day: int, merchants_by_city: MerchantsByCity) -> None:
    """One day of the QR campaign: direct scans per channel, purchases, shares to Moments and the referred
    scans they bring, generation after generation (in each world, when worlds run as one)."""
    for world, where in enumerate(w.campaign_worlds):
        _campaign_day_in(w, day, merchants_by_city, where, world if len(w.campaign_worlds) > 1 else None)


def _campaign_day_in(w: WorldState, day: int, merchants_by_city: MerchantsByCity, where: CampaignWorld,
                     world: int | None) -> None:
    """:func:`campaign_day` in one world; the scans of one of several worlds carry its index (``world``)."""
    s, rng = w.s, w.rng
    city_users = where.city_users
    rate = s.campaign_scans_per_1000_users * where.n_users / 1000.0
    channel, user, time, referrer, conv = [], [], [], [], []
    for k, (_channel, _placement, share, conversion) in enumerate(CAMPAIGN_CHANNELS):
        m = rng.poisson(rate * share)
        channel.append(np.full(m, k))
        user.append(city_users[rng.integers(0, len(city_users), m)] if len(city_users) else np.full(m, -1))
        time.append(times_in_day(w, day, m))
        referrer.append(np.full(m, -1))
        conv.append(np.full(m, conversion))
    gen_user, gen_time = np.concatenate(user), np.concatenate(time)
    gen_ref, gen_conv = np.concatenate(referrer), np.concatenate(conv)
    gen_channel = np.concatenate(channel)
    for _generation in range(MAX_REFERRAL_GENERATIONS):
        n = len(gen_user)
        if n == 0:
            break
        anonymous = rng.random(n) < ANONYMOUS_SCAN_SHARE
        here = present_at(w, np.maximum(gen_user, 0), gen_time) & (gen_user >= 0)
        scan_user = np.where(anonymous | ~here, -1, gen_user)
        ids = np.arange(w.next_scan, w.next_scan + n, dtype=np.int64)
        w.next_scan += n
        w.out.add("scans", scan_id=ids, channel=gen_channel, time=gen_time, user=scan_user, referrer=gen_ref,
                  **({} if world is None else {"world": np.full(n, world)}))
        can_buy = (scan_user >= 0) & (w.active[np.maximum(scan_user, 0)] < gen_time)
        buys = can_buy & (rng.random(n) < gen_conv)
        buy_time = gen_time + rng.lognormal(np.log(BUY_DELAY_MEDIAN_MINUTES / 1440), BUY_DELAY_SIGMA, n)
        buys &= buy_time < w.n_days
        buy_time = buy_time[buys]
        pay(w, scan_user[buys], buy_time, merchants_by_city,
                 merchant=np.full(int(buys.sum()), where.merchant), scan=ids[buys])
        w.campaign_buys.append((scan_user[buys], buy_time))
        shares = rng.random(int(buys.sum())) < s.share_prob
        sharer = scan_user[buys][shares]
        share_time = buy_time[shares] + rng.exponential(SHARE_DELAY_MEAN_DAYS, len(sharer))
        counts = rng.poisson(s.referred_scans_per_share, len(sharer))
        ref_user = np.repeat(sharer, counts)
        gen_user = random_friend(w, ref_user)
        gen_time = np.repeat(share_time, counts) + rng.exponential(REFERRED_SCAN_DELAY_MEAN_DAYS, len(ref_user))
        gen_ref = ref_user
        gen_conv = np.full(len(ref_user), MOMENTS_CONVERSION)
        gen_channel = np.full(len(ref_user), len(CAMPAIGN_CHANNELS))
        keep = gen_time < w.n_days
        gen_user, gen_time, gen_ref, gen_conv, gen_channel = (gen_user[keep], gen_time[keep], gen_ref[keep],
                                                              gen_conv[keep], gen_channel[keep])
    else:
        if len(gen_user):
            warnings.warn(f"day {day}: {len(gen_user)} referred scans left after {MAX_REFERRAL_GENERATIONS} "
                          "generations of sharing were dropped (MAX_REFERRAL_GENERATIONS)", RuntimeWarning, stacklevel=2)


def follow_up(w: WorldState) -> None:
    """The O2O loop after the campaign: follow-up messages to a random share of buyers, return visits.

    Runs after the last day: it appends rows and leaves every earlier event as it was. Each buyer
    comes back to the campaign's merchant as a Poisson process at ``return_rate``, multiplied by
    ``follow_up_lift`` from the moment a follow-up message reaches them.
    """
    if not w.campaign_buys or w.s.return_rate <= 0:
        return
    buyers = np.concatenate([users for users, _ in w.campaign_buys]).astype(np.int64)
    times = np.concatenate([times for _, times in w.campaign_buys])
    for where in w.campaign_worlds:
        mine = (buyers >= where.first) & (buyers < where.end)
        _follow_up_in(w, buyers[mine], times[mine], where.merchant)


def _follow_up_in(w: WorldState, buyers: np.ndarray, times: np.ndarray, merchant: int) -> None:
    """:func:`follow_up` of one world's buyers (their campaign purchases at ``times``)."""
    s, rng = w.s, w.rng
    if len(buyers) == 0:
        return
    users, first = earliest_per_user(buyers, times)
    message_at = first + FOLLOW_UP_AFTER_DAYS + rng.random(len(users)) * FOLLOW_UP_WITHIN_HOURS / 24.0
    messaged = ((rng.random(len(users)) < s.follow_up_share) & (message_at < w.n_days)
                & (w.left[users] > message_at))
    n_msg = int(messaged.sum())
    w.out.add("messages", message_id=np.arange(1, n_msg + 1, dtype=np.int64), user=users[messaged],
                 time=message_at[messaged])
    lift_from = np.where(messaged, message_at, NEVER)
    end = np.minimum(float(w.n_days), w.left[users])
    for back, when in stepped_poisson(first, lift_from, s.return_rate, s.follow_up_lift, end, rng):
        pay(w, users[back], when, None, merchant=np.full(len(back), merchant))
