"""Tests for analysis.forecast.size_bands: thirds of a segment's deal amounts on a date."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.forecast import columns as c
from analysis.forecast.size_bands import LOWER, UPPER, amounts_as_of, band_expr, band_of, size_cuts


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def _moment(s: str) -> ibis.Value:
    return ibis.literal(_t(s), type="timestamp('UTC')")


# Amounts of two segments; the cuts are numpy's linear-interpolation quantiles of each.
AMOUNTS = {c.B2B: [100.0, 200.0, 400.0, 800.0, 1600.0], c.B2C: [10.0, 20.0, 30.0, 40.0]}


def _cuts() -> pd.DataFrame:
    rows = {
        seg: {LOWER: np.quantile(a, 1 / 3), UPPER: np.quantile(a, 2 / 3)}
        for seg, a in AMOUNTS.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def test_band_of_by_hand():
    # Hand (linear interpolation, position q (n - 1)): B2B n = 5, 1/3 -> position 4/3, between
    # 200 and 400: 200 + 200/3 = 266.67; 2/3 -> position 8/3, between 400 and 800: 400 +
    # 400 * 2/3 = 666.67. B2C n = 4, positions 1 and 2: exactly 20 and 30.
    cuts = _cuts()
    assert cuts.loc[c.B2B].tolist() == pytest.approx([200 + 200 / 3, 400 + 800 / 3])
    assert cuts.loc[c.B2C].tolist() == pytest.approx([20.0, 30.0])
    segment = pd.Series([c.B2B, c.B2B, c.B2B, c.B2C, c.B2C, c.B2C, c.B2C, "B2G", c.B2B])
    amount = pd.Series([266.0, 666.0, 667.0, 20.0, 20.5, 30.0, 30.5, 10.0, np.nan])
    band = band_of(segment, amount, cuts)
    # A cut itself belongs to the lower band; an unseen segment or no amount is unknown.
    expected = [
        c.SMALLER, c.MIDDLE, c.LARGER, c.SMALLER, c.MIDDLE, c.MIDDLE, c.LARGER, None, None
    ]  # fmt: skip
    assert band.tolist() == expected
    assert band.index.equals(segment.index) and band.dtype == object
    # Amounts as text are read as numbers; unreadable text is unknown.
    as_text = band_of(pd.Series([c.B2C, c.B2C]), pd.Series(["35", "n/a"]), cuts)
    assert as_text.tolist() == [c.LARGER, None]


def _history() -> list[dict]:
    """Deals with amount edits around the moments the tests read (Mar 1 2026)."""
    base = {c.STAGE: "proposal"}
    return [
        # raised from 100 to 5000 after Mar 1: reads 100 on Mar 1
        {"id": "R", "created": _t("2026-01-05"), "initial": {**base, c.AMOUNT: 100.0},
         "changes": [(_t("2026-03-10"), c.AMOUNT, 5000.0)], "segment": c.B2B},
        # not logged: the first change's old value (300) stands for the creation value
        {"id": "U", "created": _t("2026-01-10"), "initial": {**base, c.AMOUNT: 300.0},
         "changes": [(_t("2026-02-01"), c.AMOUNT, 350.0), (_t("2026-04-01"), c.AMOUNT, 1.0)],
         "logged": False, "segment": c.B2B},
        {"id": "V", "created": _t("2026-01-20"), "initial": {**base, c.AMOUNT: 700.0},
         "changes": [], "segment": c.B2B},
        {"id": "W", "created": _t("2026-02-01"), "initial": {**base, c.AMOUNT: 40.0},
         "changes": [(_t("2026-02-15"), c.AMOUNT, 60.0)], "segment": c.B2C},
        {"id": "X", "created": _t("2026-02-10"), "initial": base, "changes": [], "segment": c.B2C},
        {"id": "Y", "created": _t("2026-03-01"), "initial": {**base, c.AMOUNT: 80.0},
         "segment": c.B2C},  # created at the moment itself: by it
        {"id": "Z", "created": _t("2026-03-02"), "initial": {**base, c.AMOUNT: 9.0},
         "segment": c.B2C},  # created after: left out
    ]  # fmt: skip


@pytest.fixture(scope="module")
def ws(crm):
    return analysis.connect(crm.frames(_history()))


def test_amounts_as_of_rewinds_amounts(ws):
    # Hand, on Mar 1: R 100 (raised on Mar 10), U 350 (its Feb 1 change), V 700, W 60 (its Feb
    # 15 change), X unknown (never had an amount), Y 80; Z (created Mar 2) is left out.
    got = ws.execute(amounts_as_of(ws, _moment("2026-03-01"))).set_index(c.DEAL_ID)
    assert sorted(got.index) == ["R", "U", "V", "W", "X", "Y"]
    assert got[c.AMOUNT].drop("X").to_dict() == {
        "R": 100.0, "U": 350.0, "V": 700.0, "W": 60.0, "Y": 80.0
    }  # fmt: skip
    assert np.isnan(got.loc["X", c.AMOUNT])
    assert got[c.SEGMENT].to_dict() == {
        "R": c.B2B, "U": c.B2B, "V": c.B2B, "W": c.B2C, "X": c.B2C, "Y": c.B2C
    }  # fmt: skip
    # Hand, on Jan 15: only R (100) and U (300, the old value of its first change) exist.
    early = ws.execute(amounts_as_of(ws, _moment("2026-01-15"))).set_index(c.DEAL_ID)
    assert early[c.AMOUNT].to_dict() == {"R": 100.0, "U": 300.0}


def test_amounts_as_of_matches_the_timeline_truth(crm):
    # Property: on random histories (seeded) each deal's amount on a moment is the truth
    # value_at of the conftest timelines; deals created after it are absent.
    deals = crm.random_deals(np.random.default_rng(11), 80)
    ws = analysis.connect(crm.frames(deals))
    for moment in (_t("2026-02-01"), _t("2026-03-15 12:34")):
        got = ws.execute(amounts_as_of(ws, ibis.literal(moment, type="timestamp('UTC')")))
        got = got.set_index(c.DEAL_ID)[c.AMOUNT]
        alive = [d for d in deals if d["created"] <= moment]
        assert sorted(got.index) == sorted(d["id"] for d in alive)
        truth = pd.Series({d["id"]: crm.value_at(d, c.AMOUNT, moment) for d in alive}, dtype=float)
        pd.testing.assert_series_equal(
            got.sort_index(), truth.sort_index(), check_names=False, check_index_type=False
        )


def test_size_cuts_are_the_pandas_quantiles(crm):
    # Independent source: pandas' quantile (linear interpolation) of the amounts read by
    # amounts_as_of, per segment, unknown amounts left out.
    deals = crm.random_deals(np.random.default_rng(4), 120)
    ws = analysis.connect(crm.frames(deals))
    amounts = amounts_as_of(ws, _moment("2026-03-01"))
    frame = ws.execute(amounts)
    assert frame[c.AMOUNT].isna().any()  # the check covers unknown amounts
    expected = frame.dropna(subset=[c.AMOUNT]).groupby(c.SEGMENT)[c.AMOUNT]
    expected = pd.DataFrame({LOWER: expected.quantile(1 / 3), UPPER: expected.quantile(2 / 3)})
    cuts = size_cuts(ws, amounts)
    assert sorted(cuts.index) == sorted(expected.index) and len(cuts) >= 2
    pd.testing.assert_frame_equal(
        cuts.loc[expected.index, [LOWER, UPPER]], expected, check_names=False
    )


def test_band_expr_in_the_engine_agrees_with_band_of(ws):
    # Property: the engine's band and the pandas one agree row by row on a random frame
    # (seeded), with amounts placed exactly on the cuts, unknown amounts and an unseen segment.
    cuts = _cuts()
    rng = np.random.default_rng(2)
    n = 400
    segment = rng.choice([c.B2B, c.B2C, "B2G"], size=n, p=[0.45, 0.45, 0.1])
    amount = np.round(rng.uniform(0, 1200, size=n), 2)
    amount[rng.random(n) < 0.05] = np.nan
    on_cut = rng.random(n) < 0.1
    amount[on_cut] = cuts[LOWER].reindex(segment[on_cut]).fillna(1.0).to_numpy()
    frame = pd.DataFrame({c.DEAL_ID: np.arange(n), c.SEGMENT: segment, c.AMOUNT: amount})
    table = ibis.memtable(frame)
    got = ws.execute(table.select(c.DEAL_ID, band=band_expr(table, cuts)).order_by(c.DEAL_ID))
    expected = band_of(frame[c.SEGMENT], frame[c.AMOUNT], cuts)
    engine = got["band"].astype(object).where(got["band"].notna(), None).tolist()
    assert engine == expected.tolist()
    assert set(expected.dropna()) == {c.SMALLER, c.MIDDLE, c.LARGER}
    assert expected.isna().sum() > 0
