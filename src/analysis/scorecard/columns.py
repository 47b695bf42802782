"""Result columns of :mod:`analysis.scorecard`, beside the data-model columns it reads.

``from analysis.scorecard import columns as c`` gives both.
"""

from analysis.core.columns import *  # noqa: F403 (the data-model columns)

# --- the five measures (values of MEASURE) ---
STAGE_CONVERSION = "stage_conversion"
WIN_RATE = "win_rate"
DAYS_TO_WIN = "days_to_win"
REVENUE_PER_REP = "revenue_per_rep"
CAC = "cac"
MEASURES = (STAGE_CONVERSION, WIN_RATE, DAYS_TO_WIN, REVENUE_PER_REP, CAC)

# --- the scorecard table ---
MEASURE = "measure"
NEXT_STAGE = "next_stage"  # where a stage's conversion leads: the next open stage, or won
WINDOW = "window"  # index of a window, oldest first
VALUE = "value"
BASIS = "basis"  # what the value rests on: decided deals, won deals, reps, new customers
PREVIOUS = "previous"  # the period just before
LAST_YEAR = "last_year"  # the same period a year earlier
BASELINES = (PREVIOUS, LAST_YEAR)
TREND = "trend"  # the values of the last periods, oldest first
BENCHMARK = "benchmark"
BENCHMARK_SOURCE = "benchmark_source"
BENCHMARK_DEFINITION_DIFFERS = "benchmark_definition_differs"
ALL_SEGMENTS = "All"


def baseline_column(baseline: str, what: str) -> str:
    """``previous_value``, ``last_year_change_ci_low``, …: a baseline's column."""
    return f"{baseline}_{what}"


# What each baseline carries, after ``<baseline>_``.
BASE_VALUE, CHANGE, CHANGE_LOW, CHANGE_HIGH = "value", "change", "change_ci_low", "change_ci_high"
BASE_P, BASE_P_ADJ, BEYOND_NOISE = "p_value", "p_adjusted", "beyond_noise"
BASELINE_PARTS = (BASE_VALUE, CHANGE, CHANGE_LOW, CHANGE_HIGH, BASE_P, BASE_P_ADJ, BEYOND_NOISE)

# Notes: why a value or a change is missing.
NOTE_NO_STAGE_HISTORY = "no_stage_history"
NOTE_NO_CLOSE_DATES = "no_close_dates"
NOTE_NO_OWNERS = "no_owners"
NOTE_NO_SPEND = "no_spend"
NOTE_NO_AMOUNTS = "no_comparable_amounts"
NOTE_NOTHING_DECIDED = "nothing_decided_in_period"
