"""Win/loss tables: loss-reason Pareto, head-to-head, period comparisons, real data.

Truth comes from three places, named beside each assertion: the sample
generator's planted parameters and realised counts (``crm.truth``), direct
pandas counts of the same Parquet files, and the published Maven CRM figures
in ../shared/datasets/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_processed_folder
from scipy.stats import chi2_contingency

import analysis
from analysis import winloss
from analysis.core import paths
from analysis.sample import generate_sample
from analysis.winloss import columns as c

BIG_DEALS, BIG_SEED = 20_000, 11
MAVEN = paths.SHARED_DATASETS_DIR / "maven_crm"


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = make_processed_folder(tmp_path_factory.mktemp("winloss"), BIG_DEALS, BIG_SEED)
    return analysis.connect(folder), generate_sample(BIG_DEALS, seed=BIG_SEED).truth, folder


def test_pareto_counts_reconcile_with_pandas(processed_folder):
    ws = analysis.connect(processed_folder)
    table = winloss.loss_reason_pareto(ws, c.SEGMENT).to_frame()
    deals = pd.read_parquet(processed_folder / "deals.parquet")
    lost = deals[deals[c.OUTCOME] == c.LOST]
    # Direct pandas count of the same Parquet file.
    direct = lost.groupby([c.SEGMENT, c.LOSS_REASON]).size()
    got = table.set_index([c.SEGMENT, c.LOSS_REASON])[c.N_DEALS]
    pd.testing.assert_series_equal(got.sort_index(), direct.sort_index(), check_names=False)
    for _, g in table.groupby(c.SEGMENT):
        assert g[c.SHARE].sum() == pytest.approx(1.0)  # shares of one group add to 1
        assert g[c.CUMULATIVE_SHARE].iloc[-1] == pytest.approx(1.0)
        assert g[c.N_DEALS].is_monotonic_decreasing  # Pareto order
        assert (g[c.CI_LOW] <= g[c.SHARE]).all() and (g[c.SHARE] <= g[c.CI_HIGH]).all()


def test_planted_loss_reason_shares_recovered_by_stage_lost(big):
    ws, truth, _ = big
    table = winloss.loss_reason_pareto(
        ws, c.SEGMENT, by_stage_lost=True, alpha=0.05 / 24
    ).to_frame()
    weights = truth["loss_reasons"]["weights_by_segment_and_stage_third"]
    early = truth["generator"]["open_stages"][:2]  # stage third 0: 3 * k // 6 == 0 for k < 2
    checked = 0
    for seg in (c.B2B, c.B2C):
        for stage in early:
            part = table[(table[c.SEGMENT] == seg) & (table[c.STAGE_LOST] == stage)]
            shares = part.set_index(c.LOSS_REASON)
            # The competitor becomes known from the third open stage: no such reason earlier.
            assert c.COMPETITOR not in shares.index
            total = sum(w[0] for w in weights[seg].values())
            for reason, w in weights[seg].items():
                expected = w[0] / total  # planted weight of the early third, normalised
                row = shares.loc[reason] if reason in shares.index else None
                low = 0.0 if row is None else row[c.CI_LOW]
                high = row[c.CI_HIGH] if row is not None else 1.0
                # Bonferroni-adjusted Wilson interval (24 shares) covers the planted weight.
                assert low <= expected <= high, (seg, stage, reason, expected, low, high)
                checked += 1
    assert checked == 24


def test_head_to_head_matches_realised_truth(big):
    ws, truth, _ = big
    table = winloss.head_to_head(ws).to_frame().set_index(c.COMPETITOR)
    realised = truth["competitors_realised"]
    for name in truth["competitors"]["mix"]:
        # Realised counts of the generator (closed deals that reached the competitor stage).
        assert table.loc[name, c.N_CLOSED] == realised[name]["closed"]
        assert table.loc[name, c.N_WON] == realised[name][c.WON]
    # Planted odds: Acme Cloud 0.55 is the strongest rival, Initech 1.35 the weakest.
    assert table[c.WIN_RATE].idxmin() == "Acme Cloud"
    assert table.loc["Acme Cloud", c.DIFF_CI_HIGH] < 0
    assert np.isfinite(table[c.P_ADJUSTED]).all()


def test_win_rate_by_decision_makers_matches_realised_truth(big):
    ws, truth, _ = big
    table = winloss.win_rates(ws, [c.SEGMENT, c.N_DECISION_MAKERS]).to_frame()
    for seg, levels in truth["win_rate_by_decision_makers"].items():
        for k, node in levels.items():
            row = table[(table[c.SEGMENT] == seg) & (table[c.N_DECISION_MAKERS] == int(k))]
            assert int(row[c.N_CLOSED].iloc[0]) == node["closed"]  # realised truth
            assert int(row[c.N_WON].iloc[0]) == node[c.WON]


def test_compare_loss_reasons_reconciles_and_chi_square_matches_scipy(big):
    ws, _, folder = big
    current = ("2026-01-01", "2026-07-01")
    baseline = ("2025-01-01", "2026-01-01")
    result = winloss.compare_loss_reasons(ws, current, baseline, correction="holm")
    table = result.to_frame().set_index(c.LOSS_REASON)
    deals = pd.read_parquet(folder / "deals.parquet")
    lost = deals[(deals[c.OUTCOME] == c.LOST) & deals[c.LOSS_REASON].notna()]

    def counts(window):
        start, end = (pd.Timestamp(v, tz="UTC") for v in window)
        m = (lost[c.CLOSED_AT] >= start) & (lost[c.CLOSED_AT] < end)
        return lost[m][c.LOSS_REASON].value_counts()

    now, base = counts(current), counts(baseline)  # direct pandas counts
    assert table[c.N_CURRENT].to_dict() == pytest.approx(now.reindex(table.index).to_dict())
    assert table[c.N_BASELINE].to_dict() == pytest.approx(base.reindex(table.index).to_dict())
    observed = np.vstack([base.reindex(table.index), now.reindex(table.index)])
    # scipy's Pearson chi-square on the same 2 x k table.
    assert result.chi2_p_value == pytest.approx(chi2_contingency(observed, correction=False).pvalue)
    assert (table[c.P_ADJUSTED] >= table[c.P_VALUE] - 1e-12).all()


def test_same_window_compared_with_itself_shows_no_change(big):
    ws, _, _ = big
    window = ("2025-07-01", "2026-01-01")
    result = winloss.compare_head_to_head(ws, window, window)
    table = result.to_frame()
    assert np.allclose(table[c.DIFFERENCE], 0.0)  # identical counts: zero difference
    assert (table[c.P_VALUE] > 0.99).all()


def test_bad_input_gives_messages_not_tracebacks(processed_folder):
    ws = analysis.connect(processed_folder)
    with pytest.raises(ValueError, match="no column 'nope'"):
        winloss.loss_reason_pareto(ws, "nope")
    with pytest.raises(ValueError, match="correction must be"):
        winloss.head_to_head(ws, correction="magic")
    none_lost = ws.with_table(c.DEALS, ws.deals.filter(ws.deals[c.OUTCOME] == c.WON))
    table = winloss.loss_reason_pareto(none_lost).to_frame()
    assert table[c.NOTE].tolist() == [c.NOTE_NO_LOST_DEALS]
    empty = winloss.compare_loss_reasons(
        ws, ("1990-01-01", "1990-02-01"), ("1991-01-01", "1991-02-01")
    )
    assert empty.warnings and empty.to_frame().empty


@pytest.mark.shared_data
@pytest.mark.skipif(
    not (MAVEN / "sales_pipeline.csv").exists(),
    reason=f"Maven CRM data set not found at {MAVEN} (shared datasets are not part of a clone)",
)
def test_maven_win_rate_by_product_and_office_equals_direct_computation(tmp_path):
    from analysis.ingest import ingest

    out = tmp_path / "processed"
    ingest(MAVEN, out, map_path=paths.MAVEN_MAP_FILE)
    ws = winloss.with_owner_attributes(analysis.connect(out), [c.REGION])
    raw = pd.read_csv(MAVEN / "sales_pipeline.csv")
    raw["product"] = raw["product"].replace({"GTXPro": "GTX Pro"})
    teams = pd.read_csv(MAVEN / "sales_teams.csv")
    raw = raw.merge(teams, on="sales_agent", how="left")
    closed = raw[raw["deal_stage"].isin(["Won", "Lost"])]

    def direct(col):  # won / (won + lost), straight from the CSV files
        return closed.groupby(col)["deal_stage"].apply(lambda s: (s == "Won").mean())

    by_product = winloss.win_rates(ws, c.PRODUCT).to_frame().set_index(c.PRODUCT)[c.WIN_RATE]
    pd.testing.assert_series_equal(
        by_product.sort_index(), direct("product").sort_index(), check_names=False, rtol=1e-12
    )
    office = c.OWNER_PREFIX + c.REGION
    by_office = winloss.win_rates(ws, office).to_frame().set_index(office)[c.WIN_RATE]
    pd.testing.assert_series_equal(
        by_office.sort_index(), direct("regional_office").sort_index(), check_names=False
    )
    # Published figures (../shared/datasets/README.md): Central 62.56%, West 63.94%, East 63.02%.
    assert by_office.round(4).to_dict() == {"Central": 0.6256, "East": 0.6302, "West": 0.6394}


def test_findings_and_charts_escape_hostile_labels(processed_folder):
    import matplotlib

    matplotlib.use("Agg")
    from analysis.winloss import findings as winloss_findings
    from analysis.winloss import plots as winloss_plots

    ws = analysis.connect(processed_folder)
    deals = ws.deals
    hostile = '<img src=x onerror="alert(1)"> [x](javascript:alert(1)) ceo@rival.example'
    renamed = deals.mutate(
        **{c.COMPETITOR: (deals[c.COMPETITOR] == "Acme Cloud").ifelse(hostile, deals[c.COMPETITOR])}
    )
    ws = ws.with_table(c.DEALS, renamed)
    table = winloss.head_to_head(ws).to_frame()
    sentences = winloss_findings.head_to_head_sentence(table)
    # The planted weakest rival (odds multiplier 0.55) is the one renamed.
    assert sentences and "ceo@rival.example" not in sentences[0]
    markdown = winloss_findings.findings_markdown(sentences)
    assert "<img" not in markdown and "javascript:" not in markdown and "](" not in markdown
    pareto = winloss.loss_reason_pareto(ws, c.SEGMENT).to_frame()
    assert winloss_findings.loss_reason_sentences(pareto)
    fig = winloss_plots.pareto_chart(pareto, c.SEGMENT)
    assert len(fig.axes) == 2  # one panel per segment
    empty = winloss.loss_reason_pareto(
        ws.with_table(c.DEALS, deals.filter(deals[c.OUTCOME] == c.WON))
    )
    assert winloss_plots.pareto_chart(empty.to_frame()) is not None
