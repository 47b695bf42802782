"""Tests of analysis.experiments.resolve against the sample generator's planted truth.

The sample CRM plants two experiments (analysis.sample.activities): an email
template randomised per deal whose variant B multiplies the odds of advancing
from qualification by 1.4, and a call script randomised per rep with no effect.
"""

from __future__ import annotations

import pandas as pd
import pytest

import analysis
from analysis.core.errors import InputError
from analysis.experiments import columns as c
from analysis.experiments import compare_conversion, experiment_units, list_experiments
from analysis.experiments.srm import sample_ratio_mismatch

EMAIL, CALL = "email_template_q", "call_script_d"


@pytest.fixture(scope="module")
def planted():
    """25,000 sample deals (seed 11): enough email-test units (~3,700) to see the lift."""
    from analysis.sample import generate_sample

    crm = generate_sample(25_000, seed=11)
    return analysis.connect(dict(crm.tables)), crm.truth["experiments"]


def test_email_units_and_conversions_match_the_generator(planted):
    ws, truth = planted
    units = experiment_units(ws, EMAIL)
    assert units.unit_type == c.UNIT_DEAL and units.stage == "qualification"
    assert units.conversion_stage == "discovery"
    decided = units.units[units.units[c.DECIDED]]
    for variant in ("A", "B"):
        realised = truth[EMAIL]["realised"][variant]
        mine = decided[decided[c.VARIANT] == variant]
        # Planted truth: the generator's count of decided units and of advances.
        assert len(mine) == realised["units_decided"]
        assert int(mine[c.CONVERTED].sum()) == realised["advanced"]


def test_email_template_lift_is_detected_and_covered(planted):
    ws, truth = planted
    result = compare_conversion(ws, experiment_id=EMAIL)
    b = result.to_frame().set_index(c.VARIANT).loc["B"]
    realised = truth[EMAIL]["realised"]
    # Planted truth: expected_rate is the mean planted probability of the decided units.
    planted_diff = realised["B"]["expected_rate"] - realised["A"]["expected_rate"]
    planted_lift = realised["B"]["expected_rate"] / realised["A"]["expected_rate"] - 1
    assert b[c.P_VALUE] < 0.05 and b[c.DIFFERENCE] > 0
    assert b[c.DIFF_CI_LOW] <= planted_diff <= b[c.DIFF_CI_HIGH]
    assert b[c.LIFT_CI_LOW] <= planted_lift <= b[c.LIFT_CI_HIGH]
    assert result.design is None and b[c.METHOD] == "score"


def test_rep_randomised_call_script_is_not_flagged(planted):
    ws, truth = planted
    result = compare_conversion(ws, experiment_id=CALL)
    b = result.to_frame().set_index(c.VARIANT).loc["B"]
    # Planted truth: odds ratio 1 (no effect); reps are the clusters (10 per script).
    assert truth[CALL]["odds_ratio"] == 1.0
    assert b[c.METHOD] == "cluster_robust" and b[c.P_VALUE] >= 0.05
    assert result.design.n_clusters == len(truth[CALL]["rep_variant"])
    assert result.design.clusters_per_variant == {"A": 10, "B": 10}
    assert result.design.design_effect > 1


def test_assignment_split_passes_the_srm_check(planted):
    ws, _ = planted
    units = experiment_units(ws, EMAIL)
    assert not sample_ratio_mismatch(units.n_assigned).flagged


def test_resolves_from_a_processed_folder(processed_folder):
    ws = analysis.connect(processed_folder)
    assert list_experiments(ws) == sorted([CALL, EMAIL])
    units = experiment_units(ws, EMAIL, conversion_stage="won")
    # Every assigned deal appears once; undecided deals have no outcome and are open.
    assert len(units.units) == sum(units.n_assigned.values())
    assert units.units[c.DEAL_ID].is_unique
    undecided = units.units[~units.units[c.DECIDED]]
    assert (undecided[c.OUTCOME] == c.OPEN).all()
    assert (units.units[c.DAYS] >= 0).all()


def test_unknown_experiment_and_bad_stage(processed_folder):
    ws = analysis.connect(processed_folder)
    with pytest.raises(InputError, match="no experiment 'nope'.*call_script_d"):
        experiment_units(ws, "nope")
    with pytest.raises(ValueError, match="lost"):
        experiment_units(ws, EMAIL, conversion_stage="lost")
    with pytest.raises(ValueError, match="not a stage"):
        experiment_units(ws, EMAIL, conversion_stage="closing")
    with pytest.raises(ValueError, match="experiment_id"):
        compare_conversion(ws)


def test_account_randomised_units_by_hand():
    # Hand-built CRM: accounts X (variant A) and Y (B) assigned on 1 March at discovery.
    # d1 (X) enters discovery 2 March and presentation 12 March: converted after 10 days.
    # d2 (X) entered discovery before the assignment: not in the test. d3 (Y) enters
    # discovery 5 March and is lost: decided, not converted. d4 (Y) enters 6 March, open.
    t = pd.Timestamp
    deals = pd.DataFrame(
        {
            c.DEAL_ID: ["d1", "d2", "d3", "d4"],
            c.ACCOUNT_ID: ["X", "X", "Y", "Y"],
            c.OUTCOME: [c.OPEN, c.WON, c.LOST, c.OPEN],
            c.AMOUNT: [1.0, 2.0, 3.0, 4.0],
            c.CREATED_AT: [t("2026-01-01", tz="UTC")] * 4,
            c.SEGMENT: [c.B2B] * 4,
        }
    )
    events = pd.DataFrame(
        {
            c.DEAL_ID: ["d1", "d1", "d2", "d2", "d3", "d3", "d4"],
            c.STAGE: [
                "discovery",
                "presentation",
                "discovery",
                "won",
                "discovery",
                "lost",
                "discovery",
            ],  # fmt: skip
            c.ENTERED_AT: pd.to_datetime(
                [
                    "2026-03-02",
                    "2026-03-12",
                    "2026-02-20",
                    "2026-03-20",
                    "2026-03-05",
                    "2026-03-25",
                    "2026-03-06",
                ],
                utc=True,
            ),  # fmt: skip
        }
    )
    assignments = pd.DataFrame(
        {
            c.EXPERIMENT_ID: ["demo"] * 2,
            c.UNIT_ID: ["X", "Y"],
            c.UNIT_TYPE: [c.UNIT_ACCOUNT] * 2,
            c.VARIANT: ["A", "B"],
            c.ASSIGNED_AT: pd.to_datetime(["2026-03-01"] * 2, utc=True),
            c.STAGE: ["discovery"] * 2,
        }
    )
    ws = analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: events, c.ASSIGNMENTS: assignments})
    units = experiment_units(ws, "demo").units.set_index(c.DEAL_ID)
    assert list(units.index) == ["d1", "d3", "d4"]
    assert units.loc["d1", c.CONVERTED] == 1 and units.loc["d1", c.DAYS] == 10
    assert units.loc["d3", c.CONVERTED] == 0 and units.loc["d3", c.DECIDED]
    assert pd.isna(units.loc["d4", c.CONVERTED]) and not units.loc["d4", c.DECIDED]
    # d4 is censored at the data cutoff (latest stage entry, 25 March): 19 days.
    assert units.loc["d4", c.DAYS] == 19
    assert list(units[c.CLUSTER]) == ["X", "Y", "Y"]
