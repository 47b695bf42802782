"""Tests of analysis.sample.slippage: expected close dates pushed while deals are open.

Provenance: planted truth from ``truth["slippage"]`` (push propensities by segment and
rep, the heavy pusher, deals ending lost pushed more). Every figure is recomputed here
from the canonical ``deals`` and ``deal_changes`` tables with plain pandas, by the
definition in ``truth["slippage"]["definition"]``; differences are tested with
``statsmodels.stats.proportion.proportions_ztest``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from analysis.core import columns as c
from analysis.sample import SampleCRM, generate_sample

N_DEALS = 30_000  # the heavy pusher then owns ~1,000 deals, ~250 of them at risk


@pytest.fixture(scope="module")
def crm() -> SampleCRM:
    return generate_sample(N_DEALS, seed=2024)


def to_time(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, utc=True, format="ISO8601")


def pushes(crm: SampleCRM) -> pd.DataFrame:
    """Expected-close changes made while the deal was open (not the first, not the close)."""
    deals = crm.tables[c.DEALS].set_index(c.DEAL_ID)
    changes = crm.tables[c.DEAL_CHANGES]
    rows = changes[(changes[c.FIELD] == c.EXPECTED_CLOSE_AT) & changes[c.OLD_VALUE].notna()]
    closed_at = deals[c.CLOSED_AT].loc[rows[c.DEAL_ID]].to_numpy()
    rows = rows[pd.isna(closed_at) | (rows[c.CHANGED_AT].to_numpy() < closed_at)].copy()
    rows["days"] = (to_time(rows[c.NEW_VALUE]) - to_time(rows[c.OLD_VALUE])).dt.total_seconds()
    rows["days"] /= 86_400
    return rows


def per_deal(crm: SampleCRM) -> pd.DataFrame:
    """One row per deal: at risk (open after its first expected close), pushes, days pushed."""
    deals = crm.tables[c.DEALS].set_index(c.DEAL_ID)
    changes = crm.tables[c.DEAL_CHANGES]
    firsts = changes[(changes[c.FIELD] == c.EXPECTED_CLOSE_AT) & changes[c.OLD_VALUE].isna()]
    first = to_time(firsts.set_index(c.DEAL_ID)[c.NEW_VALUE]).loc[deals.index]
    cutoff = pd.Timestamp(crm.truth["generator"]["cutoff"])
    moved = pushes(crm).groupby(c.DEAL_ID)["days"].agg(["size", "sum"])
    out = deals[[c.SEGMENT, c.OWNER_ID, c.OUTCOME]].copy()
    out["at_risk"] = deals[c.CLOSED_AT].fillna(cutoff) > first
    out["pushes"] = moved["size"].reindex(deals.index, fill_value=0)
    out["days"] = moved["sum"].reindex(deals.index, fill_value=0.0)
    out["pushed"] = out["pushes"] > 0
    return out


def test_pushes_move_the_date_later_soon_after_it_passed(crm):
    spec = crm.truth["slippage"]
    rows = pushes(crm)
    segment = crm.tables[c.DEALS].set_index(c.DEAL_ID)[c.SEGMENT].loc[rows[c.DEAL_ID]]
    low = segment.map({s: v[0] for s, v in spec["push_days"].items()}).to_numpy()
    high = segment.map({s: v[1] for s, v in spec["push_days"].items()}).to_numpy()
    days = rows["days"].to_numpy()
    assert (days == days.round()).all() and (days >= low).all() and (days <= high).all()
    late = (rows[c.CHANGED_AT] - to_time(rows[c.OLD_VALUE])).dt.total_seconds() / 86_400
    assert (late > 0).all() and (late <= spec["push_delay_days"][1] + 1e-5).all()
    assert (to_time(rows[c.OLD_VALUE]).dt.strftime("%H:%M:%S") == "23:59:59").all()


def test_push_counts_reconcile_with_the_recorded_truth(crm):
    deals, real = per_deal(crm), crm.truth["slippage"]["realised"]
    heavy = crm.truth["slippage"]["heavy_pusher"]["rep_id"]
    groups = {s: deals[c.SEGMENT] == s for s in c.SEGMENTS}
    groups["heavy_pusher"] = deals[c.OWNER_ID] == heavy
    for name, mask in groups.items():
        part = deals[mask]
        got = (len(part), int(part["at_risk"].sum()), int(part["pushed"].sum()))
        assert got == (real[name]["deals"], real[name]["at_risk"], real[name]["pushed"]), name
        assert int(part["pushes"].sum()) == real[name]["pushes"], name
        mean_days = part.loc[part["pushed"], "days"].mean()
        assert mean_days == pytest.approx(real[name]["mean_days_pushed"]), name
    assert (deals.loc[deals["pushed"], "at_risk"]).all()  # a push needs a passed date


def test_b2b_pushes_more_than_b2c(crm):
    deals = per_deal(crm)
    at_risk = deals[deals["at_risk"]]
    for frame in (deals, at_risk):
        counts = frame.groupby(c.SEGMENT)["pushed"].agg(["sum", "count"]).loc[[c.B2B, c.B2C]]
        _, p_value = proportions_ztest(counts["sum"], counts["count"], alternative="larger")
        assert p_value < 1e-6
    planted = crm.truth["slippage"]["push_probability"]
    assert planted[c.B2B] > planted[c.B2C]


def test_the_named_rep_pushes_most(crm):
    heavy = crm.truth["slippage"]["heavy_pusher"]
    deals = per_deal(crm)
    at_risk = deals[deals["at_risk"]]
    share = at_risk.groupby(c.OWNER_ID)["pushed"].mean()
    assert share.idxmax() == heavy["rep_id"]
    assert deals.groupby(c.OWNER_ID)["pushed"].mean().idxmax() == heavy["rep_id"]
    team = at_risk[at_risk[c.SEGMENT] == heavy["segment"]]
    is_heavy = team[c.OWNER_ID] == heavy["rep_id"]
    counts = [team.loc[is_heavy, "pushed"].sum(), team.loc[~is_heavy, "pushed"].sum()]
    _, p_value = proportions_ztest(
        counts, [is_heavy.sum(), (~is_heavy).sum()], alternative="larger"
    )
    assert p_value < 1e-6
    # the heavy pusher also pushes the same deal more often, so further
    pushed = deals[deals["pushed"] & (deals[c.SEGMENT] == heavy["segment"])]
    mine = pushed[c.OWNER_ID] == heavy["rep_id"]
    assert pushed.loc[mine, "days"].mean() > pushed.loc[~mine, "days"].mean()


def test_pushed_deals_win_less(crm):
    # Among closed deals at risk of a push; over all closed deals the comparison is
    # confounded by survival (deals lost early never reach their expected close).
    deals = per_deal(crm)
    closed = deals[deals["at_risk"] & (deals[c.OUTCOME] != c.OPEN)]
    won = closed[c.OUTCOME] == c.WON
    counts = won.groupby(closed["pushed"]).agg(["sum", "count"]).sort_index()  # never first
    _, p_value = proportions_ztest(counts["sum"], counts["count"], alternative="larger")
    assert p_value < 1e-6
    truth = crm.truth["slippage"]["win_rate"]
    assert counts.iloc[1].tolist() == [truth["pushed"][c.WON], truth["pushed"]["closed"]]
    assert counts.iloc[0].tolist() == [
        truth["never_pushed"][c.WON],
        truth["never_pushed"]["closed"],
    ]
    assert truth["pushed"]["win_rate"] < truth["never_pushed"]["win_rate"]


def test_deals_that_end_lost_are_pushed_more_each_time_their_date_passes(crm):
    # A passing is a push, or the last expected close passing unpushed before the close
    # (the old value of the change at closed_at). Planted: lost_push_odds > 1.
    deals = per_deal(crm)
    changes = crm.tables[c.DEAL_CHANGES]
    closed_at = crm.tables[c.DEALS].set_index(c.DEAL_ID)[c.CLOSED_AT]
    rows = changes[changes[c.FIELD] == c.EXPECTED_CLOSE_AT]
    closing = rows[rows[c.CHANGED_AT].to_numpy() == closed_at.loc[rows[c.DEAL_ID]].to_numpy()]
    last_date = to_time(closing.set_index(c.DEAL_ID)[c.OLD_VALUE])
    closed = deals.loc[last_date.index]
    closed = closed[closed["at_risk"]]
    passed_unpushed = closed_at.loc[closed.index] > last_date.loc[closed.index]
    passings = closed["pushes"] + passed_unpushed.astype(int)
    lost = closed[c.OUTCOME] == c.LOST
    counts = [closed.loc[lost, "pushes"].sum(), closed.loc[~lost, "pushes"].sum()]
    _, p_value = proportions_ztest(
        counts, [passings[lost].sum(), passings[~lost].sum()], alternative="larger"
    )
    assert p_value < 1e-6
    assert crm.truth["slippage"]["lost_push_odds"] > 1
