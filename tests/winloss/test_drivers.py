"""Win drivers: grouped binomial fit == row-level Logit, planted effects, real data, bad input.

Reference values: statsmodels' row-level ``Logit`` fitted through the formula
interface (an independent design-matrix path), the sample generator's planted
per-stage log-odds effects (``truth["effects"]``), and the published UCI bank
marketing rates in ../shared/datasets/README.md.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from conftest import make_processed_folder

import analysis
from analysis.core import paths
from analysis.engine.reach import deal_stage_reach
from analysis.sample import generate_sample
from analysis.winloss import columns as c
from analysis.winloss.drivers import model as drivers

UCI = paths.SHARED_DATASETS_DIR / "uci_bank" / "bank-full.csv"


def _closed_frame(folder) -> pd.DataFrame:
    deals = pd.read_parquet(folder / "deals.parquet")
    return deals[deals[c.OUTCOME].isin([c.WON, c.LOST])].copy()


def _formula_logit(frame: pd.DataFrame, categorical: dict[str, str], numeric: list[str]):
    """statsmodels' own row-level Logit with treatment coding against the given references."""
    data = frame.copy()
    data["y"] = (data[c.OUTCOME] == c.WON).astype(float)
    terms = [f"C({f}, Treatment(reference={ref!r}))" for f, ref in categorical.items()]
    return smf.logit("y ~ " + " + ".join([*terms, *numeric]), data).fit(disp=0)


def _our_term(name: str) -> str:
    """Formula term name -> win_drivers term name (``C(f, ...)[T.level]`` -> ``f=level``)."""
    m = re.match(r"C\((\w+), .*\)\[T\.(.*)\]$", name)
    return f"{m.group(1)}={m.group(2)}" if m else name


@pytest.mark.parametrize("numeric", [[], [c.LEAD_SCORE]], ids=["grouped", "rows"])
def test_fit_equals_row_level_logit(processed_folder, numeric):
    frame = _closed_frame(processed_folder)
    frame = frame.dropna(subset=[c.QUAL_NEED])
    frame[c.QUAL_NEED] = frame[c.QUAL_NEED].map({True: "true", False: "false"})
    cats = {c.SEGMENT: c.B2C, c.SOURCE: "inbound", c.REGION: "North America", c.QUAL_NEED: "true"}
    ours = drivers.win_drivers(frame, [*cats, *numeric], reference=cats, min_level_deals=1)
    assert ours.method == ("grouped" if not numeric else "rows")
    if not numeric:
        assert ours.n_cells < ours.n_deals  # the engine returned cells, not rows
    ref = _formula_logit(frame, cats, numeric)  # statsmodels Logit on the rows
    ref_params = ref.params.rename(index=_our_term)
    ref_ci = ref.conf_int(0.05).rename(index=_our_term)
    table = ours.to_frame().set_index(c.TERM)
    for term, coef in ref_params.items():
        if term == "Intercept":
            assert ours.params["intercept"] == pytest.approx(coef, abs=1e-6)
            continue
        assert table.loc[term, c.COEF] == pytest.approx(coef, abs=1e-6)
        assert table.loc[term, c.STD_ERR] == pytest.approx(ref.bse[_find(ref, term)], abs=1e-6)
        assert np.log(table.loc[term, c.CI_LOW]) == pytest.approx(ref_ci.loc[term, 0], abs=1e-6)
        assert np.log(table.loc[term, c.CI_HIGH]) == pytest.approx(ref_ci.loc[term, 1], abs=1e-6)
        assert table.loc[term, c.P_VALUE] == pytest.approx(ref.pvalues[_find(ref, term)], abs=1e-6)
    assert ours.n_deals == int(ref.nobs)


def _find(ref, term: str) -> str:
    return next(name for name in ref.params.index if _our_term(name) == term)


@pytest.fixture(scope="module")
def qualification_decisions(tmp_path_factory):
    """Deals deciding at the qualification stage (advanced = won), from 20,000 sample deals."""
    folder = make_processed_folder(tmp_path_factory.mktemp("drivers"), 20_000, 11)
    ws = analysis.connect(folder)
    features = [c.SEGMENT, c.SOURCE, c.N_DECISION_MAKERS, *drivers_qual_flags()]
    rows = deal_stage_reach(ws, "observed", by=features, implied_entry_times=False)
    at = rows.filter(
        (rows[c.STAGE] == "qualification") & (rows[c.IS_ADVANCED] | rows[c.IS_LOST_HERE])
    )
    at = at.mutate(**{c.OUTCOME: at[c.IS_ADVANCED].ifelse(c.WON, c.LOST)})
    return at, features, generate_sample(20_000, seed=11).truth


def drivers_qual_flags() -> list[str]:
    return [c.QUAL_BUDGET, c.QUAL_AUTHORITY, c.QUAL_NEED, c.QUAL_TIMELINE]


def test_planted_driver_effects_recovered(qualification_decisions):
    table_expr, features, truth = qualification_decisions
    result = drivers.win_drivers(table_expr, features, reference={c.SOURCE: "inbound"})
    table = result.to_frame().set_index(c.TERM)
    effects = truth["effects"]
    assert "qualification" in effects["lead_source_stages"]
    assert "qualification" in effects["decision_makers_stages"]
    # Planted odds multipliers of lead source at the stage (truth["effects"]).
    for source, odds in effects["lead_source_odds_multiplier"].items():
        if source == "inbound":
            continue
        row = table.loc[f"source={source}"]
        assert row[c.CI_LOW] <= odds <= row[c.CI_HIGH], (source, odds, row[c.ODDS_RATIO])
    # Planted log-odds per extra decision maker: -0.12.
    dm = table.loc[c.N_DECISION_MAKERS]
    planted = np.exp(effects["decision_makers_log_odds_per_extra"])
    assert dm[c.CI_LOW] <= planted <= dm[c.CI_HIGH]
    # Planted log-odds of a false qualification flag.
    for flag, log_odds in effects["qualification_false_flag_log_odds"].items():
        row = table.loc[f"{flag}=false"]
        assert row[c.CI_LOW] <= np.exp(log_odds) <= row[c.CI_HIGH], flag


@pytest.mark.shared_data
@pytest.mark.skipif(
    not UCI.exists(),
    reason=f"UCI bank marketing data set not found at {UCI} (shared datasets are not in a clone)",
)
def test_uci_bank_poutcome_success_is_a_large_positive_driver():
    bank = pd.read_csv(UCI, sep=";")
    assert len(bank) == 45_211  # ../shared/datasets/README.md
    features = ["poutcome", "contact", "housing", "loan", "month"]
    result = drivers.win_drivers(
        bank, features, outcome="y", won="yes", lost="no", reference={"poutcome": "unknown"}
    )
    assert result.method == "grouped" and result.n_deals == 45_211
    table = result.to_frame().set_index(c.TERM)
    success = table.loc["poutcome=success"]
    # README: success 64.73% vs failure 12.61% -> crude odds ratio about 12.7 against failure;
    # against never-contacted ("unknown") the adjusted odds ratio is larger still.
    assert success[c.ODDS_RATIO] > 5 and success[c.CI_LOW] > 4
    assert success[c.P_ADJUSTED] < 1e-10
    assert success[c.N_UNITS] == (bank["poutcome"] == "success").sum()  # direct count


def test_separation_single_level_and_collinearity_are_reported(processed_folder):
    frame = _closed_frame(processed_folder)
    frame["constant"] = "x"
    frame["copy_of_segment"] = frame[c.SEGMENT]
    # A segment level where every deal is won: separation.
    frame.loc[frame[c.REGION] == "LATAM", c.OUTCOME] = c.WON
    result = drivers.win_drivers(frame, [c.SOURCE, c.REGION, "constant", c.SEGMENT,
                                         "copy_of_segment"])  # fmt: skip
    table = result.to_frame().set_index(c.TERM)
    assert table.loc["region=LATAM", c.NOTE] == c.NOTE_SEPARATION
    assert np.isnan(table.loc["region=LATAM", c.ODDS_RATIO])
    assert table.loc["constant", c.NOTE] == c.NOTE_SINGLE_LEVEL
    assert table.loc["copy_of_segment=B2B", c.NOTE] == c.NOTE_COLLINEAR
    text = " ".join(result.warnings)
    assert "separation" in text and "collinear" in text and "constant" in text
    assert table[c.ODDS_RATIO].dropna().lt(1e3).all()  # no absurd odds ratios


def test_all_won_and_bad_arguments(processed_folder):
    frame = _closed_frame(processed_folder)
    frame[c.OUTCOME] = c.WON
    result = drivers.win_drivers(frame, [c.SOURCE])
    assert result.method == "none" and result.to_frame().empty
    assert "all won or all lost" in result.warnings[-1]
    with pytest.raises(ValueError, match="at least one feature"):
        drivers.win_drivers(frame, [])
    with pytest.raises(analysis.InputError, match="no column 'nope'"):
        drivers.win_drivers(frame, ["nope"])


def test_driver_bands(processed_folder):
    ws = analysis.connect(processed_folder)
    banded = ws.execute(drivers.driver_bands(ws))
    deals = pd.read_parquet(processed_folder / "deals.parquet")
    # Bands from the direct values: 5+ decision makers, and quartile bands of equal size.
    assert (banded[c.DM_BAND] == "5+").sum() == (deals[c.N_DECISION_MAKERS] >= 5).sum()
    sizes = banded[c.AMOUNT_BAND].value_counts()
    assert len(sizes) == 4 and sizes.max() - sizes.min() <= 0.02 * len(deals)
