"""Tests of analysis.experiments.verdict and .reading: the decision in words."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.figure import Figure

import analysis
from analysis.experiments import columns as c
from analysis.experiments import compare_conversion, plots, reading
from analysis.experiments.power import power_analysis
from analysis.experiments.srm import sample_ratio_mismatch
from analysis.experiments.verdict import experiment_verdict


def units(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    rows = []
    for variant, (x, n) in counts.items():
        rows += [(variant, 1)] * x + [(variant, 0)] * (n - x)
    return pd.DataFrame(rows, columns=[c.VARIANT, c.CONVERTED])


def test_clear_win_ships():
    # 0.30 vs 0.20 on 1,000 each: z = 5.2, p ~ 2e-7 (statsmodels proportions_ztest).
    verdict = experiment_verdict(compare_conversion(units({"A": (200, 1000), "B": (300, 1000)})))
    assert (verdict.decision, verdict.variant, verdict.certainty) == ("ship", "B", "very sure")
    assert verdict.sentence.startswith("ship B") and "+10.0 points" in verdict.sentence


def test_clear_loss_stops():
    verdict = experiment_verdict(compare_conversion(units({"A": (300, 1000), "B": (200, 1000)})))
    assert verdict.decision == "stop" and "keep A" in verdict.sentence


def test_unclear_small_test_keeps_running_for_the_missing_deals():
    comparison = compare_conversion(units({"A": (60, 300), "B": (70, 300)}))
    power = power_analysis(0.2, 0.05, 300)
    verdict = experiment_verdict(comparison, power=power, minimum_effect=0.05)
    assert verdict.decision == "keep running"
    # Rounded up to two significant figures from the power analysis.
    assert power.more_units_needed <= verdict.more_units < power.more_units_needed * 1.1
    assert f"{verdict.more_units:,} more deals" in verdict.sentence


def test_precise_null_stops():
    # 20,000 per arm at equal rates: the Newcombe interval is about +-0.8 points.
    comparison = compare_conversion(units({"A": (4000, 20000), "B": (4010, 20000)}))
    verdict = experiment_verdict(comparison, minimum_effect=0.02)
    assert verdict.decision == "stop" and "no difference worth having" in verdict.sentence


def test_sample_ratio_mismatch_overrides():
    comparison = compare_conversion(units({"A": (200, 1000), "B": (300, 1000)}))
    srm = sample_ratio_mismatch({"A": 5200, "B": 4800})
    assert experiment_verdict(comparison, srm=srm).decision == "fix the test"


def test_early_significant_reading_keeps_running_until_the_boundary():
    # z = 2.2 at half the planned size: below the O'Brien-Fleming boundary 2.96.
    comparison = compare_conversion(
        units({"A": (100, 500), "B": (130, 500)}), planned_sample_size=2000
    )
    verdict = experiment_verdict(comparison)
    assert comparison.table[c.P_VALUE].iloc[1] < 0.05
    assert verdict.decision == "keep running" and "O'Brien-Fleming" in verdict.sentence


def test_non_binary_outcome_asks_to_fix_the_data():
    data = units({"A": (3, 10), "B": (4, 10)})
    data.loc[0, c.CONVERTED] = 7
    verdict = experiment_verdict(compare_conversion(data))
    assert verdict.decision == "fix the test" and "Recode" in verdict.sentence


def test_read_experiment_end_to_end(processed_folder):
    ws = analysis.connect(processed_folder)
    ids = reading.experiment_id_list(None, ws)
    assert reading.experiment_id_list('["email_template_q"]', ws) == ["email_template_q"]
    readings = [reading.read_experiment(ws, e) for e in ids]
    design = reading.design_table(readings)
    assert list(design[c.EXPERIMENT_ID]) == ids
    assert design.set_index(c.EXPERIMENT_ID).loc["call_script_d", c.N_CLUSTERS] == 20
    verdicts = reading.verdict_table(readings)
    assert set(verdicts["decision"]) <= {"ship", "keep running", "stop", "fix the test"}
    assert len(reading.headline(readings)) >= len(ids)
    effects = reading.comparison_table(readings)
    for fig in (
        plots.forest_plot(effects),
        plots.time_to_conversion_chart(readings[0].timing.curves, ids[0]),
    ):
        assert isinstance(fig, Figure)
        plt.close(fig)


@pytest.mark.parametrize("table", ["timing", "deal_size", "bayes"])
def test_stacked_tables_carry_the_experiment_id(processed_folder, table):
    ws = analysis.connect(processed_folder)
    readings = [reading.read_experiment(ws, "email_template_q")]
    frame = getattr(reading, f"{table}_table")(readings)
    assert set(frame[c.EXPERIMENT_ID]) == {"email_template_q"}
