"""Tests for analysis.team.performance: the rep scorecard (shrinkage itself: tests/stats/test_shrinkage.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import analysis
from analysis.core import paths
from analysis.sample import generate_sample
from analysis.team import columns as c
from analysis.team.performance import PAGE_COLUMNS, rep_scorecard, win_rates_by_rep

MAVEN = paths.SHARED_DATASETS_DIR / "maven_crm"


@pytest.fixture(scope="module")
def sample():
    """The sample CRM at its default size and seed (5,000 deals), as in-memory tables."""
    crm = generate_sample(paths.DEFAULT_SAMPLE_DEALS, seed=paths.DEFAULT_SEED)
    return crm, analysis.connect(dict(crm.tables))


@pytest.fixture(scope="module")
def scorecard(sample):
    return rep_scorecard(sample[1])


def test_scorecard_counts_reconcile_with_the_deals(sample, scorecard):
    crm, _ = sample
    deals = crm.tables[c.DEALS]
    table = scorecard.to_frame().set_index(c.OWNER_ID)
    # Direct pandas counts from the generated deals table.
    direct = deals.groupby(c.OWNER_ID)[c.OUTCOME].value_counts().unstack(fill_value=0)
    assert table[c.N_WON].to_dict() == direct[c.WON].to_dict()
    assert table[c.N_LOST].to_dict() == direct[c.LOST].to_dict()
    won_amount = deals[deals[c.OUTCOME] == c.WON].groupby(c.OWNER_ID)[c.AMOUNT].sum()
    assert table[c.WON_AMOUNT].to_numpy() == pytest.approx(won_amount[table.index].to_numpy())
    acts = crm.tables[c.ACTIVITIES].merge(deals[[c.DEAL_ID, c.OWNER_ID]], on=c.DEAL_ID)
    per_rep = acts.groupby(c.OWNER_ID).size() / deals.groupby(c.OWNER_ID).size()
    assert table[c.ACTIVITIES_PER_DEAL].to_numpy() == pytest.approx(per_rep[table.index].to_numpy())
    assert table[c.WIN_RATE].between(table[c.CI_LOW], table[c.CI_HIGH]).all()
    assert table[c.SHRUNK_WIN_RATE].between(table[c.SHRUNK_CI_LOW], table[c.SHRUNK_CI_HIGH]).all()
    assert (table[c.SHRUNK_CI_HIGH] > table[c.SHRUNK_CI_LOW]).all()
    assert set(table[c.FUNNEL_POSITION]) <= {"below", "within", "above"}
    assert table[c.MEDIAN_CYCLE_DAYS].gt(0).all()


def test_planted_rep_skill_ranks_with_the_shrunk_win_rate(sample, scorecard):
    # Planted truth (truth["reps"][id]["skill"]): a log-odds shift at each of the six open
    # stages; the weak rep also has odds x0.40 at one stage (truth["rep_weakness"]), i.e.
    # about log(0.4)/6 per stage. Teams differ by segment, so the shrunk rate is compared
    # with its team's rate on the log-odds scale.
    crm, _ = sample
    table = scorecard.to_frame()
    skill = pd.Series({rid: r["skill"] for rid, r in crm.truth["reps"].items()})
    weak = crm.truth["rep_weakness"]
    n_stages = len(crm.truth["generator"]["open_stages"])
    skill[weak["rep_id"]] += np.log(weak["odds_multiplier"]) / n_stages

    def logit(p):
        return np.log(p / (1 - p))

    relative = logit(table[c.SHRUNK_WIN_RATE]) - logit(table[c.TEAM_WIN_RATE])
    rho = spearmanr(relative, skill[table[c.OWNER_ID]].to_numpy()).statistic
    assert rho >= 0.8


def test_revenue_per_rep_month_uses_tenure_within_the_window():
    # Hand example: window 2025-01-01 to 2025-04-01 (90 days); rep A hired before it,
    # rep B hired 2025-03-02 (30 days before the end). Months are 365.25/12 days.
    t = pd.Timestamp
    deals = pd.DataFrame(
        {
            c.DEAL_ID: ["d1", "d2", "d3", "d4"],
            c.CREATED_AT: [t("2025-01-05", tz="UTC"), t("2025-02-01", tz="UTC"),
                           t("2025-03-05", tz="UTC"), t("2025-03-10", tz="UTC")],
            c.CLOSED_AT: [t("2025-01-20", tz="UTC"), t("2025-02-10", tz="UTC"),
                          t("2025-03-20", tz="UTC"), pd.NaT],
            c.OUTCOME: [c.WON, c.LOST, c.WON, c.OPEN],
            c.AMOUNT: [3000.0, 1000.0, 500.0, 800.0],
            c.SEGMENT: [c.B2B] * 4,
            c.OWNER_ID: ["A", "A", "B", "B"],
        }
    )  # fmt: skip
    reps = pd.DataFrame(
        {c.REP_ID: ["A", "B", "C"], c.NAME: ["Ann", "Bo", "Cy"], c.TEAM: ["t", "t", "t"],
         c.HIRED_AT: [t("2020-01-01", tz="UTC"), t("2025-03-02", tz="UTC"),
                      t("2024-01-01", tz="UTC")]}
    )  # fmt: skip
    ws = analysis.connect({c.DEALS: deals, c.REPS: reps})
    card = rep_scorecard(ws, window=("2025-01-01", "2025-04-01")).to_frame()
    card = card.set_index(c.OWNER_ID)
    month = 365.25 / 12
    # The data cutoff (2025-03-20, the last close) ends the tenure: A 78 days, B 18 days.
    assert card.loc["A", c.TENURE_MONTHS] == pytest.approx(78 / month)
    assert card.loc["A", c.REVENUE_PER_REP_MONTH] == pytest.approx(3000 / (78 / month))
    assert card.loc["B", c.REVENUE_PER_REP_MONTH] == pytest.approx(500 / (18 / month))
    assert card.loc["A", c.AVG_WON_DEAL] == 3000.0
    assert "C" not in card.index  # a rep without deals has no row


def test_rep_with_no_closed_deals_gets_a_message_code_not_a_crash(sample):
    crm, _ = sample
    deals = crm.tables[c.DEALS].copy()
    rep = deals[c.OWNER_ID].iloc[0]
    mine = deals[c.OWNER_ID] == rep
    deals.loc[mine, c.OUTCOME] = c.OPEN
    deals.loc[mine, c.CLOSED_AT] = pd.NaT
    ws = analysis.connect({c.DEALS: deals, c.REPS: crm.tables[c.REPS]})
    card = rep_scorecard(ws)
    row = card.to_frame().set_index(c.OWNER_ID).loc[rep]
    assert row[c.NOTE] == c.NOTE_NO_CLOSED_DEALS
    assert np.isnan(row[c.WIN_RATE])
    # A new rep of the team: the posterior mean of the team's mean rate, with the
    # spread of rates between reps in its interval.
    assert row[c.SHRUNK_WIN_RATE] == pytest.approx(card.prior.group_mean[row[c.TEAM]])
    assert row[c.SHRUNK_CI_LOW] < row[c.TEAM_WIN_RATE] < row[c.SHRUNK_CI_HIGH]


def test_bad_arguments_say_what_to_fix(sample):
    _, ws = sample
    with pytest.raises(ValueError, match="shrink_toward"):
        rep_scorecard(ws, shrink_toward="region")
    with pytest.raises(ValueError, match="window must start before"):
        rep_scorecard(ws, window=("2026-01-01", "2025-01-01"))
    no_owner = analysis.connect({c.DEALS: ws.execute(ws.deals).drop(columns=[c.OWNER_ID])})
    with pytest.raises(ValueError, match="owner_id"):
        rep_scorecard(no_owner)


@pytest.mark.shared_data
@pytest.mark.skipif(
    not (MAVEN / "sales_pipeline.csv").exists(),
    reason=f"Maven CRM data set not found at {MAVEN} (shared datasets are not part of a clone)",
)
def test_maven_revenue_per_agent_and_office_win_rates(tmp_path):
    from analysis.ingest import ingest

    out = tmp_path / "maven"
    ingest(MAVEN, out, map_path=paths.MAVEN_MAP_FILE)
    ws = analysis.connect(out)
    # Reference: ../shared/datasets/README.md, by office (sales_teams.regional_office).
    offices = win_rates_by_rep(ws, c.REGION).to_frame().set_index(c.REGION)[c.WIN_RATE]
    assert offices.round(4).to_dict() == {"Central": 0.6256, "East": 0.6302, "West": 0.6394}
    # Direct computation from the raw CSV: won close_value per sales_agent.
    raw = pd.read_csv(MAVEN / "sales_pipeline.csv")
    direct = raw[raw["deal_stage"] == "Won"].groupby("sales_agent")["close_value"].sum()
    card = rep_scorecard(ws).to_frame().set_index(c.OWNER_ID)
    assert card[c.WON_AMOUNT].to_dict() == pytest.approx(direct.astype(float).to_dict())
    assert card[c.WON_AMOUNT].sum() == 10_005_534  # README: won revenue


def test_the_page_shows_a_subset_that_fits_and_the_frame_keeps_everything(scorecard):
    # Issue 18: the 27-column scorecard overflowed a printed page; the page shows 14.
    shown = scorecard.page_frame()
    assert list(shown.columns) == list(PAGE_COLUMNS) and len(shown.columns) == 14
    assert len(scorecard.to_frame().columns) > len(shown.columns)
    assert shown.equals(scorecard.to_frame()[list(PAGE_COLUMNS)])
