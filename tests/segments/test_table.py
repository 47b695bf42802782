"""The readable side-by-side table prints each metric in its unit (issue 13: a win rate shown as "0.1")."""

from __future__ import annotations

import analysis
from analysis import segments
from analysis.reference.benchmarks import METRIC_WIN_RATE
from analysis.segments import columns as c
from analysis.segments.compare import METRIC_SIZE


def test_rates_are_percentages_and_money_has_its_symbol(processed_folder):
    comparison = segments.compare_segments(analysis.connect(processed_folder))
    numeric = comparison.table.set_index(c.METRIC)
    shown = segments.readable_comparison(comparison).set_index(c.METRIC)
    rate = numeric.loc[METRIC_WIN_RATE]
    # Provenance: the numeric table of the same comparison, formatted by hand.
    expected = (
        f"{100 * rate[c.VALUE_A]:.1f}% [{100 * rate[c.CI_LOW_A]:.1f}% – "
        f"{100 * rate[c.CI_HIGH_A]:.1f}%]"
    )
    assert shown.loc[METRIC_WIN_RATE.replace("_", " "), c.B2B] == expected
    assert shown.loc[METRIC_SIZE.replace("_", " "), c.B2B].startswith("$")
    assert "nan" not in shown.to_string()
