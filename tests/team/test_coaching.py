"""Tests for analysis.team.coaching: rep x stage conversion against the rest of the team."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from score_reference import mn_interval
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

import analysis
from analysis.core import paths
from analysis.sample import generate_sample
from analysis.team import columns as c
from analysis.team.coaching import coaching_focus, compare_to_team
from analysis.team.findings import coaching_actions, coaching_sentences

STAGES = ("prospecting", "qualification", "discovery", "presentation", "proposal", "negotiation")


@pytest.fixture(scope="module")
def sample():
    """The sample CRM at its default size and seed (5,000 deals), as in-memory tables."""
    crm = generate_sample(paths.DEFAULT_SAMPLE_DEALS, seed=paths.DEFAULT_SEED)
    return crm, analysis.connect(dict(crm.tables))


@pytest.fixture(scope="module")
def focus(sample):
    return coaching_focus(sample[1])


def _score_p(x1, n1, x0, n0):
    return sm_test_2indep(x1, n1, x0, n0, method="score", compare="diff").pvalue


def test_leave_one_out_comparison_by_hand():
    # Hand example: one team, three reps at one stage: A 2/10, B 8/10, C 8/10 advanced.
    counts = pd.DataFrame(
        {c.OWNER_ID: ["A", "B", "C"], c.TEAM: ["t"] * 3, c.STAGE: ["proposal"] * 3,
         c.N_ADVANCED: [2, 8, 8], c.N_LOST: [8, 2, 2]}
    )  # fmt: skip
    out = compare_to_team(counts).set_index(c.OWNER_ID)
    # Rest of the team for A: (8 + 8) / 20 = 0.8; for B: (2 + 8) / 20 = 0.5.
    assert out.loc["A", c.TEAM_CONVERSION] == pytest.approx(0.8)
    assert out.loc["B", c.TEAM_CONVERSION] == pytest.approx(0.5)
    assert out.loc["A", c.DIFFERENCE] == pytest.approx(0.2 - 0.8)
    # Reference: statsmodels' two-sided score test (right at a difference of 0).
    p = {rep: _score_p(a, 10, 18 - a, 20) for rep, a in [("A", 2), ("B", 8), ("C", 8)]}
    assert out[c.P_VALUE].to_dict() == pytest.approx(p, rel=1e-9)
    # Holm over three tests: the smallest p-value times 3.
    assert out.loc["A", c.P_ADJUSTED] == pytest.approx(min(1.0, 3 * p["A"]))
    # The Miettinen–Nurminen interval (brute force, tests/score_reference.py) at the level
    # that agrees with the adjusted p-value, 1 - 0.05 * p / p_adjusted = 1 - 0.05 / 3.
    low, high = mn_interval(2, 10, 16, 20, 0.05 / 3)
    assert (out.loc["A", c.DIFF_CI_LOW], out.loc["A", c.DIFF_CI_HIGH]) == pytest.approx(
        (low, high), abs=1e-8
    )
    assert out[c.FLAGGED].tolist() == [True, False, False]
    assert (out[c.DIFF_CI_HIGH] < 0).tolist() == [True, False, False]  # agrees with the flag


def test_planted_weakness_is_flagged_with_revenue_at_stake(sample, focus):
    # Planted truth: truth["rep_weakness"] names the rep and the stage (odds x0.40 there).
    crm, _ = sample
    weak = crm.truth["rep_weakness"]
    flagged = focus.flagged()
    hit = flagged[(flagged[c.OWNER_ID] == weak["rep_id"]) & (flagged[c.STAGE] == weak["stage"])]
    assert len(hit) == 1
    row = hit.iloc[0]
    assert row[c.DIFF_CI_HIGH] < 0 and row[c.REVENUE_AT_STAKE] > 0
    # The planted cell is the rep's only flag and the largest revenue at stake among flags.
    assert flagged.iloc[0][c.OWNER_ID] == weak["rep_id"]
    assert (flagged[c.OWNER_ID] == weak["rep_id"]).sum() == 1
    sentence = coaching_sentences(focus)[0]
    assert sentence.startswith(f"Rep {weak['rep_id']} loses at {weak['stage']}: ")
    assert "/quarter" in sentence
    action = coaching_actions(focus)[0]  # the executive summary's action: the same cell
    assert action["money"] == pytest.approx(row[c.REVENUE_AT_STAKE])
    assert action["action"].startswith(f"Coach {weak['rep_id']} at {weak['stage']}: ")


def test_revenue_at_stake_follows_its_formula(focus):
    t = focus.to_frame()
    expected = (
        (-t[c.DIFFERENCE]).clip(lower=0)
        * t["decided"]
        * t["downstream_win_rate"]
        * t[c.AVG_WON_DEAL]
        / focus.quarters
    )
    assert np.allclose(t[c.REVENUE_AT_STAKE], expected, equal_nan=True)
    # Counts reconcile: one row per rep and open stage.
    assert len(t) == t[c.OWNER_ID].nunique() * len(STAGES)


def _null_counts(rng: np.random.Generator) -> pd.DataFrame:
    """Decided counts of 20 reps in 4 teams when every rep converts like their team."""
    reps = [f"R{i:02d}" for i in range(20)]
    team_p = rng.uniform(0.55, 0.85, size=(4, len(STAGES)))
    rows = []
    for i, rep in enumerate(reps):
        team = i // 5
        for k, stage in enumerate(STAGES):
            n = int(rng.integers(20, 200))
            adv = int(rng.binomial(n, team_p[team, k]))
            rows.append((rep, f"team{team}", stage, adv, n - adv))
    return pd.DataFrame(rows, columns=[c.OWNER_ID, c.TEAM, c.STAGE, c.N_ADVANCED, c.N_LOST])


def test_no_rep_is_flagged_when_nothing_is_planted_over_seeds():
    # Property: with Holm the chance of any flag under the null is at most alpha.
    # 120 cells per seed; simulated from counts (no generator or ingest), 200 seeds.
    alpha, seeds = 0.05, 200
    any_flag, raw_rejections, tested = 0, 0, 0
    for seed in range(seeds):
        out = compare_to_team(_null_counts(np.random.default_rng(seed)), alpha=alpha)
        any_flag += bool(out[c.FLAGGED].any())
        p = out[c.P_VALUE].dropna()
        raw_rejections += int((p <= alpha).sum())
        tested += len(p)
    # Family-wise rate: at most alpha plus two binomial standard errors of 200 seeds.
    assert any_flag / seeds <= alpha + 2 * np.sqrt(alpha * (1 - alpha) / seeds)
    # Unadjusted one-sided tests reject near alpha (Fisher's test is a little conservative).
    assert 0.02 <= raw_rejections / tested <= alpha + 0.01


def test_small_cells_are_reported_but_not_tested():
    counts = pd.DataFrame(
        {c.OWNER_ID: ["A", "B"], c.TEAM: ["t", "t"], c.STAGE: ["proposal"] * 2,
         c.N_ADVANCED: [0, 30], c.N_LOST: [2, 10]}
    )  # fmt: skip
    out = compare_to_team(counts, min_decided=5).set_index(c.OWNER_ID)
    assert out.loc["A", c.NOTE] == c.NOTE_TOO_FEW_DECIDED
    assert np.isnan(out.loc["A", c.P_VALUE]) and not out.loc["A", c.FLAGGED]


def test_bad_input_gives_a_clear_message(sample):
    _, ws = sample
    counts = _null_counts(np.random.default_rng(0))
    with pytest.raises(ValueError, match="correction must be"):
        compare_to_team(counts, correction="sidak")
    no_owner = analysis.connect({c.DEALS: ws.execute(ws.deals).drop(columns=[c.OWNER_ID])})
    with pytest.raises(ValueError, match="owner_id"):
        coaching_focus(no_owner)


def test_deals_without_an_owner_are_left_out_and_counted_not_a_rep_called_nan(sample):
    # Issue 13: with most owners missing, the executive summary read "Rep nan loses
    # at prospecting". Unowned deals are now left out of the rep comparison and
    # counted; the findings say how many.
    crm, _ = sample
    deals = crm.tables[c.DEALS].copy()
    rng = np.random.default_rng(13)
    missing = rng.random(len(deals)) < 0.6
    deals.loc[missing, c.OWNER_ID] = None
    ws = analysis.connect({**crm.tables, c.DEALS: deals})
    result = coaching_focus(ws)
    owners = set(result.to_frame()[c.OWNER_ID])
    assert not owners & {"nan", "None", "<NA>"}
    assert owners <= set(deals.loc[~missing, c.OWNER_ID].astype(str))
    assert result.n_unassigned == int(missing.sum())  # every unowned deal, no window given
    sentences = coaching_sentences(result)
    assert f"{int(missing.sum()):,} deals without an owner are left out" in sentences[-1]
    assert not any("Rep nan" in s or "Rep None" in s for s in sentences)
