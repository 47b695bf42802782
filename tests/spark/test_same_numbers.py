"""Every public analysis gives the same table on Spark as on DuckDB.

Counts must be equal, floats equal to 1e-9 relative: the row-level work is the
same ibis expression on both engines, and the statistics run on the aggregates
that come back. A function that needs a DuckDB-only path has a portable one
(``analysis.engine.durations.seconds_between``; ``engine.temporary.materialized``
recomputes where Spark has no temporary tables; slippage's median).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import (
    after_close,
    experiments,
    forecast,
    marketing,
    overview,
    pipeline,
    segments,
    team,
    winloss,
)
from analysis.core import columns as c
from tests.spark.conftest import AS_OF

CURRENT = ("2026-04-01", "2026-07-01")
BASELINE = ("2025-04-01", "2026-04-01")
YEAR = ("2025-07-01", "2026-07-01")

CALLS = {
    # pipeline
    "stage_conversion": lambda ws: pipeline.stage_conversion(ws),
    "stage_accounting": lambda ws: pipeline.stage_accounting(ws),
    "stage_conversion_observed": lambda ws: pipeline.stage_conversion(ws, reach="observed"),
    "stage_accounting_observed": lambda ws: pipeline.stage_accounting(ws, reach="observed"),
    "win_rates": lambda ws: pipeline.win_rates(ws),
    "time_in_stage": lambda ws: pipeline.time_in_stage(ws),
    "time_to_close": lambda ws: pipeline.time_to_close(ws),
    "sales_velocity": lambda ws: pipeline.sales_velocity(ws, YEAR),
    "bottlenecks": lambda ws: pipeline.bottlenecks(ws, CURRENT, BASELINE),
    "process_adherence": lambda ws: pipeline.process_adherence(ws),
    # experiments
    "list_experiments": lambda ws: pd.DataFrame({"id": experiments.list_experiments(ws)}),
    "read_experiment": lambda ws: experiments.read_experiment(
        ws, experiments.list_experiments(ws)[0]
    ),
    # win/loss
    "loss_reason_pareto": lambda ws: winloss.loss_reason_pareto(ws),
    "compare_loss_reasons": lambda ws: winloss.compare_loss_reasons(ws, CURRENT, BASELINE),
    "win_drivers": lambda ws: winloss.win_drivers(ws, winloss.driver_features(ws).used),
    "theme_shares": lambda ws: winloss.theme_shares(ws),
    "distinguishing_phrases": lambda ws: winloss.distinguishing_phrases(ws),
    "build_scorecard": lambda ws: winloss.build_scorecard(ws, winloss.driver_features(ws).used),
    "head_to_head": lambda ws: winloss.head_to_head(ws),
    # team and segments
    "rep_scorecard": lambda ws: team.rep_scorecard(ws),
    "coaching_focus": lambda ws: team.coaching_focus(ws),
    "acquisition_cost": lambda ws: team.acquisition_cost(ws),
    "trend": lambda ws: team.trend(ws, "quarter", "segment"),
    "compare_periods": lambda ws: team.compare_periods(ws, CURRENT, BASELINE),
    "compare_segments": lambda ws: segments.compare_segments(ws),
    "decision_maker_effect": lambda ws: segments.decision_maker_effect(ws),
    # forecast
    "pipeline_as_of": lambda ws: forecast.pipeline_as_of(ws, "2026-01-01"),
    "slippage": lambda ws: forecast.slippage(ws),
    "pipeline_waterfall": lambda ws: forecast.pipeline_waterfall(ws, *CURRENT),
    "backtest_forecast": lambda ws: forecast.backtest_forecast(ws, windows=2, simulations=200),
    "forecast_window": lambda ws: forecast.forecast_window(ws, *CURRENT, as_of=CURRENT[0]),
    # marketing
    "lead_funnel": lambda ws: marketing.lead_funnel(ws),
    "speed_to_lead": lambda ws: marketing.speed_to_lead(ws),
    "source_quality": lambda ws: marketing.source_quality(ws),
    # after the close
    "repeat_purchase": lambda ws: after_close.repeat_purchase(ws, by="channel", as_of=AS_OF),
    "revenue_retention": lambda ws: after_close.revenue_retention(ws, by="region", as_of=AS_OF),
    "onboarding_time": lambda ws: after_close.onboarding_time(ws, by="size_band", as_of=AS_OF),
    "value_after_sale": lambda ws: after_close.value_after_sale(ws, as_of=AS_OF),
    "customer_value": lambda ws: after_close.customer_value(ws, as_of=AS_OF),
    # overview
    "outcome_summary": lambda ws: overview.outcome_summary(ws),
    "table_volumes": lambda ws: overview.table_volumes(ws),
}


def _frame(result: object) -> pd.DataFrame:
    frame = result if isinstance(result, pd.DataFrame) else result.to_frame()
    return frame.reset_index(drop=True)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_spark_gives_duckdbs_table(pair, name):
    duck, spark = pair
    expected, got = _frame(CALLS[name](duck)), _frame(CALLS[name](spark))
    assert len(expected) > 0, f"{name} has no rows on the sample: the comparison would be empty"
    # Counts exactly (integer columns compare exactly), floats to 1e-9 relative.
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def sub_second_pair(pair):
    """The sample with stage entries and closes moved by a seeded fraction of a second."""
    duck, _ = pair
    rng = np.random.default_rng(5)
    frames = {name: duck.execute(table) for name, table in duck.tables.items()}
    for name, column in ((c.STAGE_EVENTS, c.ENTERED_AT), (c.DEALS, c.CLOSED_AT)):
        frame = frames[name]
        shift = pd.to_timedelta(rng.integers(1, 1_000_000, len(frame)), unit="us")
        frame[column] = frame[column] + shift
    return analysis.connect(frames), analysis.connect(frames, backend="spark")


@pytest.mark.parametrize("name", ["time_in_stage", "time_to_close"])
def test_fractions_of_a_second_count_on_spark(sub_second_pair, name):
    # Spark's epoch_seconds() (unix_timestamp) drops the fraction; seconds_between
    # reads unix_micros there. Before that, some stays fell in a neighbouring 0.01-day bin.
    duck, spark = sub_second_pair
    results = CALLS[name](duck), CALLS[name](spark)
    # The counted durations (days to 0.01, event, count) show a stay in the wrong bin.
    expected, got = (_sorted(r.durations) for r in results)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(
        _frame(results[1]), _frame(results[0]), check_dtype=False, rtol=1e-9, atol=1e-12
    )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)
