"""Tests of analysis.sample.probability: rep-entered probabilities with a planted optimism.

Provenance: planted truth from ``truth["rep_probability"]`` (``optimism_odds``, the
true stage win probabilities and each rep's stage probabilities). The probability a
deal carried when it entered a stage is rebuilt from ``deal_changes`` with plain
pandas (the last probability change at or before the stage change: the rewind rule);
win shares get 99 % Wilson intervals from
``statsmodels.stats.proportion.proportion_confint``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis.core import columns as c
from analysis.core.stages import load_stages
from analysis.sample import SampleCRM, generate_sample

PIPELINE = load_stages().pipeline()
N_DEALS = 30_000


@pytest.fixture(scope="module")
def crm() -> SampleCRM:
    return generate_sample(N_DEALS, seed=2024)


def in_effect(crm: SampleCRM, field: str, at: pd.DataFrame) -> pd.Series:
    """Value of ``field`` in effect at each (deal_id, changed_at) row of ``at``."""
    changes = crm.tables[c.DEAL_CHANGES]
    values = changes.loc[changes[c.FIELD] == field, [c.DEAL_ID, c.CHANGED_AT, c.NEW_VALUE]]
    left = at[[c.DEAL_ID, c.CHANGED_AT]].reset_index().sort_values(c.CHANGED_AT)
    merged = pd.merge_asof(left, values.sort_values(c.CHANGED_AT), on=c.CHANGED_AT, by=c.DEAL_ID)
    return merged.set_index("index")[c.NEW_VALUE].loc[at.index]


def stage_entries(crm: SampleCRM) -> pd.DataFrame:
    """First entry of each open stage per closed deal, with the probability set at it."""
    changes = crm.tables[c.DEAL_CHANGES]
    stages = changes[(changes[c.FIELD] == c.STAGE) & changes[c.NEW_VALUE].isin(PIPELINE.stages)]
    first = stages.drop_duplicates([c.DEAL_ID, c.NEW_VALUE]).copy()
    first["probability"] = in_effect(crm, c.PROBABILITY, first).astype(float)
    deals = crm.tables[c.DEALS].set_index(c.DEAL_ID)
    first = first.join(deals[[c.SEGMENT, c.OUTCOME]], on=c.DEAL_ID)
    first = first[first[c.OUTCOME] != c.OPEN]
    first["won"] = first[c.OUTCOME] == c.WON
    return first.rename(columns={c.NEW_VALUE: c.STAGE})


def by_stage(crm: SampleCRM) -> pd.DataFrame:
    entries = stage_entries(crm)
    return entries.groupby([c.SEGMENT, c.STAGE]).agg(
        n=("won", "size"), won=("won", "sum"), probability=("probability", "mean")
    )


def test_reps_probabilities_are_too_high_at_every_stage(crm):
    # Planted: odds x optimism_odds over the true chance. Realised win share's 99 % upper
    # bound lies below the mean probability reps entered, in every segment and stage.
    table = by_stage(crm)
    assert len(table) == len(c.SEGMENTS) * len(PIPELINE.stages)
    for (segment, stage), row in table.iterrows():
        _, high = proportion_confint(row["won"], row["n"], alpha=0.01, method="wilson")
        assert row["probability"] > high, (segment, stage)
        truth = crm.truth["rep_probability"]["realised"][segment][stage]
        assert (row["n"], row["won"]) == (truth["closed_deals_entered"], truth["won"])
        assert row["probability"] == pytest.approx(truth["mean_probability"])


def test_optimism_odds_are_recovered_roughly(crm):
    # odds(mean entered probability) / odds(win share) ~ optimism_odds (1.8); rounding,
    # clipping at 0.95 and reps' own factors move it a little.
    planted = crm.truth["rep_probability"]["optimism_odds"]
    table = by_stage(crm)
    table = table[table["n"] >= 500]
    share = table["won"] / table["n"]
    ratio = (table["probability"] / (1 - table["probability"])) / (share / (1 - share))
    assert ratio.between(planted / 1.3, planted * 1.3).all(), ratio.round(2).to_dict()
    assert np.exp(np.log(ratio).mean()) == pytest.approx(planted, rel=0.1)


def test_true_stage_win_probabilities_are_calibrated(crm):
    # The recorded true chance (product of mean planted advance probabilities) is close
    # to the realised win share: the reps' optimism is the only bias planted.
    true = crm.truth["rep_probability"]["true_win_probability"]
    table = by_stage(crm)
    for (segment, stage), row in table.iterrows():
        assert abs(true[segment][stage] - row["won"] / row["n"]) < 0.05, (segment, stage)
    for segment in c.SEGMENTS:
        chances = [true[segment][s] for s in PIPELINE.stages]
        assert chances == sorted(chances)  # later stages are closer to winning


def test_each_rep_enters_one_probability_per_stage(crm):
    entries = stage_entries(crm)
    owner = crm.tables[c.DEALS].set_index(c.DEAL_ID)[c.OWNER_ID]
    entries[c.OWNER_ID] = owner.loc[entries[c.DEAL_ID]].to_numpy()
    values = entries.groupby([c.OWNER_ID, c.STAGE])["probability"].agg(["min", "max"])
    assert (values["min"] == values["max"]).all()
    planted = crm.truth["rep_probability"]["rep_stage_probability"]
    for (rep, stage), row in values.iterrows():
        assert row["min"] == planted[rep][stage]


def test_forecast_category_follows_the_probability_bands(crm):
    changes = crm.tables[c.DEAL_CHANGES]
    rows = changes[changes[c.FIELD] == c.PROBABILITY]
    category = in_effect(crm, c.FORECAST_CATEGORY, rows)
    p = rows[c.NEW_VALUE].astype(float)
    spec = crm.truth["rep_probability"]
    bands = spec["forecast_bands"]  # category -> lower bound, ascending
    names, bounds = list(bands), np.array(list(bands.values()))
    expected = np.array(names, dtype=object)[np.searchsorted(bounds, p, side="right") - 1]
    expected[p == 1.0] = spec["closed_categories"]["won"]
    expected[p == 0.0] = spec["closed_categories"]["lost"]
    assert (category.to_numpy() == expected).all()
