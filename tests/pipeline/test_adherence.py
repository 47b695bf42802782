"""Tests for analysis.pipeline.adherence: skips, re-entries and exit criteria by hand,
the statistics against statsmodels, planted truth on the default sample, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.proportion import proportion_confint

import analysis
from analysis.core import columns as c
from analysis.core.errors import MissingInput
from analysis.pipeline import adherence as a
from analysis.pipeline.adherence import compare as k
from analysis.sample import Plan, generate_sample
from analysis.sample.params import expit, logit

STAGES = ("prospecting", "qualification", "discovery", "presentation", "proposal", "negotiation")
CRITERIA = {"presentation": ["qual_budget"], "proposal": ["qual_authority"]}


def _t(day: int) -> pd.Timestamp:
    return pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(days=day).round("s")


def _deal(deal_id, outcome, budget, authority, closed_day=None, segment=c.B2B, amount=1000.0):
    return {
        c.DEAL_ID: deal_id,
        c.CREATED_AT: _t(0),
        c.OUTCOME: outcome,
        c.AMOUNT: amount,
        c.SEGMENT: segment,
        c.CLOSED_AT: _t(closed_day) if closed_day is not None else pd.NaT,
        c.OWNER_ID: "R1",
        c.QUAL_BUDGET: budget,
        c.QUAL_AUTHORITY: authority,
    }


def _events(deal_id, stages):
    return [{c.DEAL_ID: deal_id, c.STAGE: s, c.ENTERED_AT: _t(i)} for i, s in enumerate(stages)]


@pytest.fixture(scope="module")
def hand() -> analysis.Workspace:
    deals = pd.DataFrame(
        [
            _deal("D1", c.WON, True, True, 6),
            _deal("D2", c.LOST, True, None, 4),
            _deal("D3", c.WON, False, True, 7),
            _deal("D4", c.LOST, None, None, 1),
            _deal("D5", c.WON, True, None, 5),
            _deal("D6", c.OPEN, True, True),  # no stage events
        ]
    )
    events = pd.DataFrame(
        [
            *_events("D1", [*STAGES, "won"]),
            *_events("D2", ["prospecting", "discovery", "presentation", "proposal", "lost"]),
            *_events(
                "D3",
                [
                    "discovery",
                    "presentation",
                    "discovery",
                    "presentation",
                    "proposal",
                    "negotiation",
                    "won",
                ],
            ),  # fmt: skip
            *_events("D4", ["prospecting", "lost"]),
            *_events(
                "D5",
                ["prospecting", "qualification", "discovery", "presentation", "negotiation", "won"],
            ),
        ]
    )
    return analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: events})


# --- per deal, by hand ---------------------------------------------------------------


def test_per_deal_skips_reentries_and_criteria_by_hand(hand):
    res = a.process_adherence(hand, CRITERIA)
    d = res.deals.set_index(c.DEAL_ID)
    budget = a.criterion_column("presentation", "qual_budget")
    authority = a.criterion_column("proposal", "qual_authority")
    # D1: every stage in order, both flags set.
    assert d.loc["D1", a.SKIPPED_STAGES] == "" and d.loc["D1", a.N_REENTRIES] == 0
    assert d.loc["D1", budget] and d.loc["D1", authority] and d.loc["D1", a.ADHERENT]
    # D2: prospecting -> discovery skips qualification; lost at proposal, so only the
    # presentation criterion applies (it advanced past presentation, not past proposal).
    assert d.loc["D2", a.SKIPPED_STAGES] == "qualification"
    assert d.loc["D2", budget] and pd.isna(d.loc["D2", authority])
    assert d.loc["D2", a.N_CRITERIA_CHECKED] == 1 and not d.loc["D2", a.ADHERENT]
    # D3: created at discovery (nothing before it counts as skipped), back to discovery once:
    # discovery and presentation re-entered; budget not confirmed before proposal.
    assert d.loc["D3", a.SKIPPED_STAGES] == ""
    assert d.loc["D3", a.REENTERED_STAGES] == "discovery, presentation"
    assert d.loc["D3", a.N_REENTERED_STAGES] == 2 and d.loc["D3", a.N_REENTRIES] == 2
    assert d.loc["D3", a.CRITERIA_MISSED] == "presentation:qual_budget"
    assert not d.loc["D3", a.ADHERENT]
    # D4: lost at its first stage: subject to nothing, skipped nothing.
    assert d.loc["D4", a.N_CRITERIA_CHECKED] == 0 and d.loc["D4", a.ADHERENT]
    assert d.loc["D4", a.FURTHEST_STAGE] == "prospecting" and not d.loc["D4", a.REACHED_FINAL]
    # D5: presentation -> negotiation skips proposal; authority blank counts as not set.
    assert d.loc["D5", a.SKIPPED_STAGES] == "proposal"
    assert d.loc["D5", a.CRITERIA_MISSED] == "proposal:qual_authority"
    assert d.loc["D5", a.FURTHEST_STAGE] == "won"
    # D6 has no history: left out, and said so.
    assert "D6" not in d.index
    assert any("1 of 6 deals have no stage events" in n for n in res.notes)
    # Cycle days of won deals only.
    assert d.loc["D1", a.CYCLE_DAYS] == pytest.approx(6.0) and pd.isna(d.loc["D2", a.CYCLE_DAYS])


def test_comparison_rows_count_by_hand(hand):
    table = a.process_adherence(hand, CRITERIA).to_frame().set_index([a.KIND, c.STAGE])
    # Overall: deals that reached negotiation (D1, D3, D5); adherent before negotiation:
    # D1 (D3 missed budget, D5 skipped proposal).
    overall = table.loc[(a.KIND_OVERALL, "negotiation")]
    assert (overall[c.N_UNITS], overall[k.N_ADHERENT], overall[k.N_NOT]) == (3, 1, 2)
    assert overall[k.WON_ADHERENT] == 1 and overall[k.WON_NOT] == 2
    # Budget before leaving presentation: D1, D2, D3, D5 advanced past it; D3 missed it.
    budget = table.loc[(a.KIND_CRITERION, "presentation")]
    assert (budget[k.CLOSED_ADHERENT], budget[k.WON_ADHERENT]) == (3, 2)
    assert (budget[k.CLOSED_NOT], budget[k.WON_NOT]) == (1, 1)
    # Skip rows only for stages somebody skipped; qualification: D1, D2, D5 were subject.
    assert set(table.loc[a.KIND_SKIP].index) == {"qualification", "proposal"}
    qual = table.loc[(a.KIND_SKIP, "qualification")]
    assert (qual[k.N_ADHERENT], qual[k.N_NOT]) == (2, 1)


def test_default_criteria_come_from_the_stage_config(hand):
    res = a.process_adherence(hand)
    assert dict(res.criteria) == {"presentation": ("qual_budget",), "proposal": ("qual_authority",)}
    assert hand.pipeline.exit_criteria == res.criteria


# --- statistics against statsmodels ---------------------------------------------------


@pytest.fixture(scope="module")
def synthetic() -> analysis.Workspace:
    """600 deals down a six-stage path with random skips, flags and outcomes (seeded)."""
    rng = np.random.default_rng(11)
    n = 600
    seg = rng.choice([c.B2B, c.B2C], n)
    amount = np.exp(rng.normal(8, 1, n))
    budget = rng.random(n) < 0.6
    authority = rng.random(n) < 0.7
    skip = rng.random(n) < 0.15
    won = rng.random(n) < expit(0.3 + 0.5 * budget - 0.4 * (seg == c.B2C))
    deals, events = [], []
    for i in range(n):
        did = f"S{i:03d}"
        path = [s for s in STAGES if not (skip[i] and s == "discovery")]
        path.append("won" if won[i] else "lost")
        days = rng.uniform(10, 90)
        deals.append(
            _deal(did, c.WON if won[i] else c.LOST, bool(budget[i]), bool(authority[i]),
                  days, seg[i], float(amount[i])) | {c.OWNER_ID: f"R{i % 4}"}
        )  # fmt: skip
        events += _events(did, path)
    return analysis.connect({c.DEALS: pd.DataFrame(deals), c.STAGE_EVENTS: pd.DataFrame(events)})


def _strata(deals: pd.DataFrame, flag: pd.Series) -> pd.DataFrame:
    third = deals.groupby(c.SEGMENT)[c.AMOUNT].transform(lambda x: pd.qcut(x, 3, labels=False))
    return deals.assign(_g=flag, _third=third, _won=deals[c.OUTCOME] == c.WON)


def test_mantel_haenszel_matches_statsmodels_on_deals(synthetic):
    res = a.process_adherence(synthetic, CRITERIA, correction="none")
    row = res.to_frame().set_index([a.KIND, c.STAGE]).loc[(a.KIND_CRITERION, "presentation")]
    d = res.deals
    d = _strata(d, d[a.criterion_column("presentation", "qual_budget")].astype(bool))
    tables = []
    for _, g in d.groupby([c.SEGMENT, "_third"]):
        t = pd.crosstab(g["_g"], g["_won"]).reindex(index=[True, False], columns=[True, False])
        tables.append(t.fillna(0).to_numpy(float))
    st = StratifiedTable(np.stack(tables, axis=2))
    assert row[k.ODDS_RATIO_ADJUSTED] == pytest.approx(st.oddsratio_pooled, rel=1e-9)
    lo, hi = st.oddsratio_pooled_confint(alpha=0.05)
    assert (row[k.OR_CI_LOW], row[k.OR_CI_HIGH]) == pytest.approx((lo, hi), rel=1e-9)
    assert row[k.OR_P_VALUE] == pytest.approx(st.test_null_odds(correction=False).pvalue)
    # Win rates: Wilson intervals (statsmodels proportion_confint).
    wl, wh = proportion_confint(row[k.WON_NOT], row[k.CLOSED_NOT], method="wilson")
    assert (row[k.WR_NOT_LOW], row[k.WR_NOT_HIGH]) == pytest.approx((wl, wh))
    # Planted in the fixture: budget raises the log-odds by 0.5 (odds x1.65).
    assert lo < np.exp(0.5) < hi


def test_cycle_ratio_matches_least_squares_with_strata(synthetic):
    res = a.process_adherence(synthetic, {}, correction="none")
    row = res.to_frame().set_index([a.KIND, c.STAGE]).loc[(a.KIND_SKIP, "discovery")]
    d = _strata(res.deals, res.deals[a.SKIPPED_STAGES] == "")
    won = d[d["_won"]].assign(y=lambda x: np.log(x[a.CYCLE_DAYS].clip(lower=1 / 24)))
    won = won.assign(stratum=won[c.SEGMENT] + won["_third"].astype(str), g=won["_g"].astype(int))
    common = won.groupby("stratum")["g"].transform(lambda s: s.nunique() == 2)
    fit = smf.ols("y ~ C(stratum) + g", data=won[common]).fit()
    assert row[k.CYCLE_RATIO] == pytest.approx(np.exp(fit.params["g"]), rel=1e-9)
    lo, hi = np.exp(fit.conf_int(0.05).loc["g"])
    assert (row[k.CYCLE_CI_LOW], row[k.CYCLE_CI_HIGH]) == pytest.approx((lo, hi), rel=1e-9)
    assert row[k.CYCLE_P_VALUE] == pytest.approx(fit.pvalues["g"], rel=1e-9)


def test_family_rows_are_adjusted_and_intervals_widen(synthetic):
    raw = a.process_adherence(synthetic, CRITERIA, correction="none").to_frame()
    holm = a.process_adherence(synthetic, CRITERIA, correction="holm").to_frame()
    family = raw[a.KIND] != a.KIND_OVERALL
    assert (holm.loc[family, c.P_ADJUSTED] >= raw.loc[family, c.P_VALUE] - 1e-12).all()
    assert (holm.loc[family, k.OR_CI_LOW] <= raw.loc[family, k.OR_CI_LOW] + 1e-12).all()
    # The overall row is the one primary comparison: never adjusted.
    assert holm.loc[~family, c.P_ADJUSTED].equals(holm.loc[~family, c.P_VALUE])
    by_rep = a.process_adherence(synthetic, CRITERIA).by_rep
    assert sorted(by_rep[c.OWNER_ID]) == ["R0", "R1", "R2", "R3"]
    assert by_rep[c.N_UNITS].sum() == holm.loc[~family, c.N_UNITS].iloc[0]


# --- planted truth on the default sample ------------------------------------------------


@pytest.fixture(scope="module")
def sample_result() -> tuple[a.ProcessAdherence, dict]:
    sample = generate_sample()
    ws = analysis.connect(dict(sample.tables))
    return a.process_adherence(ws), sample.truth


def _implied_odds_ratio(log_odds: float, stages: tuple[int, ...]) -> float:
    """Odds ratio of winning, flag true over false, for a reference deal past the checked stage.

    Provenance: analysis.sample.journeys.log_odds_shift - a false flag lowers the log-odds
    of advancing by ``log_odds`` at every later stage; win = advancing from each of
    ``stages``. Averaged over the two segments' planted conversion (Plan.segments).
    """
    ratios = []
    for seg in Plan().segments.values():
        p_true = np.prod([seg.conversion[i] for i in stages])
        p_false = np.prod([expit(logit(seg.conversion[i]) - log_odds) for i in stages])
        ratios.append((p_true / (1 - p_true)) / (p_false / (1 - p_false)))
    return float(np.mean(ratios))


def test_planted_qualification_effects_recovered(sample_result):
    res, truth = sample_result
    table = res.to_frame().set_index([a.KIND, c.STAGE])
    effects = truth["effects"]["qualification_false_flag_log_odds"]
    # Budget before proposal: a deal past presentation still faces proposal and negotiation.
    budget = table.loc[(a.KIND_CRITERION, "presentation")]
    implied = _implied_odds_ratio(-effects[c.QUAL_BUDGET], (4, 5))
    assert budget[k.OR_CI_LOW] < implied < budget[k.OR_CI_HIGH]
    assert budget[k.OR_CI_LOW] > 1  # the planted direction, excluded 1 after Holm
    # Authority before negotiation: one stage left, odds x exp(0.35).
    authority = table.loc[(a.KIND_CRITERION, "proposal")]
    assert authority[k.OR_CI_LOW] < np.exp(-effects[c.QUAL_AUTHORITY]) < authority[k.OR_CI_HIGH]
    assert authority[k.ODDS_RATIO_ADJUSTED] > 1


def test_planted_skips_carry_no_effect(sample_result):
    res, truth = sample_result
    # Provenance: analysis.sample.journeys - a skip changes no later stage's odds, and
    # the skip rows compare deals that are past the skipped stage either way.
    assert truth["journey_realised"]["skips"] > 0
    skips = res.to_frame().query(f"{a.KIND} == '{a.KIND_SKIP}'")
    assert len(skips) >= 3
    assert (skips[k.OR_CI_LOW] < 1).all() and (skips[k.OR_CI_HIGH] > 1).all()
    assert (skips[c.P_ADJUSTED] > 0.05).all()


def test_counts_reconcile_on_the_sample(sample_result):
    res, _ = sample_result
    d = res.deals
    overall = res.to_frame().iloc[0]
    reached = d[d[a.REACHED_FINAL]]
    assert overall[c.N_UNITS] == len(reached)
    assert overall[k.N_NOT] == int((~reached[a.ADHERENT_BEFORE_FINAL]).sum())
    rates = res.to_frame()[[k.WIN_RATE_ADHERENT, k.WIN_RATE_NOT]].stack()
    assert ((rates >= 0) & (rates <= 1)).all()
    assert (
        d[a.N_SKIPPED_STAGES] == d[a.SKIPPED_STAGES].str.count(",") + (d[a.SKIPPED_STAGES] != "")
    ).all()


def test_sentences_word_association(sample_result):
    res, _ = sample_result
    text = " ".join(a.adherence_sentences(res))
    assert "association" in text and "do not show that following the process causes" in text
    assert "reached negotiation" in text
    assert "set in the export" in text  # the limit of "met when the deal advanced"


# --- bad input -----------------------------------------------------------------------


def test_without_stage_events_is_missing_input(hand):
    ws = analysis.connect({c.DEALS: hand.execute(hand.deals)})
    with pytest.raises(MissingInput, match="stage_events"):
        a.process_adherence(ws)


def test_criteria_without_fields_are_skipped_with_a_note(hand):
    deals = hand.execute(hand.deals).drop(columns=[c.QUAL_AUTHORITY])
    deals[c.QUAL_BUDGET] = None
    ws = analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: hand.execute(hand.stage_events)})
    res = a.process_adherence(ws, {**CRITERIA, "closing": ["qual_need"]})
    assert dict(res.criteria) == {}
    notes = " ".join(res.notes)
    assert "no qual_authority column" in notes and "no deal has a value in qual_budget" in notes
    assert "'closing'" in notes and "skipping no stage" in notes
    assert (res.to_frame()[a.KIND] != a.KIND_CRITERION).all()


def test_bad_arguments_raise(hand):
    with pytest.raises(ValueError, match="alpha"):
        a.process_adherence(hand, alpha=1.5)
    with pytest.raises(ValueError):
        a.process_adherence(hand, correction="sidak")


def test_result_is_frozen_and_to_frame_copies(hand):
    res = a.process_adherence(hand, CRITERIA)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.alpha = 0.1
    frame = res.to_frame()
    frame.loc[:, c.N_UNITS] = -1
    assert (res.table[c.N_UNITS] >= 0).all()
    assert list(frame.columns[3:]) == list(a.COMPARISON_COLUMNS)


def test_a_side_without_closed_deals_is_said_in_words_not_as_nan():
    # When every deal of one side is still open the comparison has no figures: the sentence
    # says so instead of printing "nan".
    import pandas as pd

    from analysis.pipeline.adherence import compare as k
    from analysis.pipeline.adherence import findings as f

    row = pd.Series({
        k.WIN_RATE_ADHERENT: 0.5, k.WR_ADH_LOW: 0.2, k.WR_ADH_HIGH: 0.8, k.CLOSED_ADHERENT: 4,
        k.WIN_RATE_NOT: float("nan"), k.WR_NOT_LOW: float("nan"), k.WR_NOT_HIGH: float("nan"),
        k.CLOSED_NOT: 0, "difference": float("nan"), "diff_ci_low": float("nan"),
        "diff_ci_high": float("nan"),
    })  # fmt: skip
    text = f._comparison(row, "Those that followed the process", "those that did not")
    assert "nan" not in text and text.startswith("Those that did not have no closed deal")
