"""Tests of analysis.sample.leads: the leads the deals came from, with planted truth.

Provenance of the expected values:
- *properties*: invariants any draw must satisfy (links to deals, ordered steps,
  statuses), checked from the canonical tables with plain pandas;
- *recorded output*: sha256 hashes of the other tables and of the truth that
  ``generate_sample(5_000, seed=20240601)`` returned before leads existed (generator
  version 3, commit 8bbf945), so adding the leads provably changed nothing else;
- *planted truth*: ``truth["leads"]`` recounted from the table by the definitions in
  ``truth["leads"]["definitions"]`` (exact), and the planted parameters
  (``analysis.sample.params.LeadPlan``) covered by intervals from statsmodels
  (Wilson intervals, logistic regression) computed on the generated rows.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analysis.core import columns as c
from analysis.core import paths
from analysis.sample import SampleCRM, generate_sample, write_sample
from analysis.sample import leads as lead_module
from analysis.sample.context import make_context
from analysis.sample.draws import draw_sample
from analysis.sample.labels import HEADERS, LEAD_STATUS_LABELS
from analysis.sample.leads_truth import RESPONSE_BAND_HOURS, RESPONSE_BANDS
from analysis.sample.params import LeadPlan

PLAN = LeadPlan()
ALPHA = 0.001  # per interval; a handful of intervals per test, so a false alarm is rare
TIME_COLUMNS = (
    c.CREATED_AT,
    c.MQL_AT,
    c.ACCEPTED_AT,
    c.SQL_AT,
    c.DISQUALIFIED_AT,
    c.RECYCLED_AT,
    c.FIRST_RESPONSE_AT,
    c.CONVERTED_AT,
)
# The export headers the ingest map reads (issue 16, agreed with the ingest side).
EXPORT_HEADERS = [
    "Lead ID",
    "Create Date",
    "Lead Source",
    "Campaign",
    "Lead Status",
    "Owner ID",
    "Segment",
    "MQL Date",
    "Accepted Date",
    "SQL Date",
    "Disqualified Date",
    "Disqualification Reason",
    "Recycled Date",
    "First Response Date",
    "Converted Date",
    "Converted Deal ID",
]

# sha256 of DataFrame.to_csv(index=False, lineterminator="\n") of each table, and of
# json.dumps(truth without "generator", "rows" and "leads", sort_keys=True), recorded
# from generate_sample(5_000, seed=20240601) at commit 8bbf945 (generator version 3),
# before the leads were added.
RECORDED = {
    c.DEALS: "269949c2ace7fd307262f12fb65e7991709915f6a301b31b4888b669fbb53647",
    c.STAGE_EVENTS: "fca0ee0a5d40c277d780a844c8c676bb010d9fb73db5f43880fee4f1c2266b2b",
    c.ACTIVITIES: "d25cfa57b3db61f4f492ce12e68e526fcc8a2531df1910d978f938f6ecc00e7d",
    c.ASSIGNMENTS: "dac80274b4f77fdd96265e6c8dc6bed4f254f144790b5cdf03d340ff800e8111",
    c.REPS: "7a8f1a9b6293ad112b5a6db5cab4e2dae4de6177096f6fef4665d63fb09d2aab",
    c.SPEND: "eb3d70bd27f114ec2b07ad187155cc34ac92491b46c9567c84bbf36ddd4e5c31",
    c.FEEDBACK: "e028f5b670d4dc1fd1aab11135a8b1a8fa9dea54c9ceb968b971447c65b80132",
    c.DEAL_CHANGES: "07bffc0973d262648f60f4fa2c3436d3171bf61de5a6cf080281657adbcaa856",
    "truth": "854d49b1fb8d3c751a968656c406997269ec8152c7ad3978c41feb6718c40db6",
}


@pytest.fixture(scope="module")
def crm() -> SampleCRM:
    """The default sample (generate_sample() defaults: 5,000 deals, seed 20240601)."""
    return generate_sample()


@pytest.fixture(scope="module")
def leads(crm) -> pd.DataFrame:
    return crm.tables[c.LEADS]


@pytest.fixture(scope="module")
def fit(crm) -> np.ndarray:
    """Each lead's latent fit (not in the table): the generator's draws for the same
    seed, in lead-id order."""
    context = make_context(paths.DEFAULT_SAMPLE_DEALS)
    draws = draw_sample(np.random.default_rng(paths.DEFAULT_SEED), context)
    drawn = lead_module.draw_leads(paths.DEFAULT_SEED, context, draws)
    assert drawn.created.size == len(crm.tables[c.LEADS])
    return drawn.fit


def decided(leads: pd.DataFrame) -> dict[str, pd.Series]:
    """Leads whose acceptance, SQL and opportunity steps are decided, by
    truth["leads"]["definitions"]."""
    failed = leads[c.DISQUALIFIED_AT].notna() | leads[c.RECYCLED_AT].notna()
    accepted, sql = leads[c.ACCEPTED_AT].notna(), leads[c.SQL_AT].notna()
    return {
        "acceptance": accepted | failed,
        "sql": sql | (accepted & failed),
        "opportunity": leads[c.CONVERTED_AT].notna() | (sql & failed),
    }


def hours_to_respond(leads: pd.DataFrame) -> pd.Series:
    return (leads[c.FIRST_RESPONSE_AT] - leads[c.MQL_AT]).dt.total_seconds() / 3600.0


# --- adding the leads changed nothing else ------------------------------------------------


def test_other_tables_and_truth_are_unchanged_for_the_default_seed(crm):
    for table, digest in RECORDED.items():
        if table == "truth":
            continue
        text = crm.tables[table].to_csv(index=False, lineterminator="\n")
        assert hashlib.sha256(text.encode()).hexdigest() == digest, table
    later = ("after_sale",)  # added after the leads (generator version 5)
    old = {k: v for k, v in crm.truth.items() if k not in ("generator", "rows", "leads", *later)}
    text = json.dumps(old, sort_keys=True)
    assert hashlib.sha256(text.encode()).hexdigest() == RECORDED["truth"]
    assert crm.truth["generator"]["version"] >= 4  # bumped for the leads (5: after the sale)
    assert crm.truth["rows"][c.LEADS] == len(crm.tables[c.LEADS])


def test_same_seed_gives_the_same_leads_and_another_seed_others():
    a, b = generate_sample(800, seed=9), generate_sample(800, seed=9)
    pd.testing.assert_frame_equal(a.tables[c.LEADS], b.tables[c.LEADS])
    assert a.truth["leads"] == b.truth["leads"]
    other = generate_sample(800, seed=10)
    assert not other.tables[c.LEADS].equals(a.tables[c.LEADS])


def test_a_one_deal_sample_has_its_converted_lead():
    one = generate_sample(1, seed=3)
    leads = one.tables[c.LEADS]
    assert (leads[c.CONVERTED_DEAL_ID].dropna() == one.tables[c.DEALS][c.DEAL_ID].iloc[0]).all()
    assert leads[c.CONVERTED_DEAL_ID].notna().sum() == 1


# --- shape and links ----------------------------------------------------------------------


def test_columns_types_and_values(crm, leads):
    assert list(leads.columns) == list(HEADERS[c.LEADS])
    for col in TIME_COLUMNS:
        assert leads[col].dtype == pd.DatetimeTZDtype(unit="us", tz="UTC"), col
    for col in set(leads.columns) - set(TIME_COLUMNS):
        assert leads[col].dtype == "str", col
    assert leads[c.LEAD_ID].is_unique and leads[c.LEAD_ID].is_monotonic_increasing
    assert leads[c.CREATED_AT].is_monotonic_increasing  # ids in creation order
    required = [c.LEAD_ID, c.CREATED_AT, c.SOURCE, c.CAMPAIGN, c.LEAD_STATUS, c.OWNER_ID]
    assert leads[[*required, c.SEGMENT]].notna().all().all()
    assert set(leads[c.LEAD_STATUS]) == set(c.LEAD_STATUSES)  # every status occurs
    assert set(leads[c.SOURCE]) == set(c.LEAD_SOURCES)
    assert set(leads[c.SEGMENT]) == set(c.SEGMENTS)
    assert leads[c.OWNER_ID].isin(crm.tables[c.REPS][c.REP_ID]).all()
    campaigns = {name: src for src, mix in PLAN.campaigns.items() for name in mix}
    assert (leads[c.CAMPAIGN].map(campaigns) == leads[c.SOURCE]).all()
    # a reason exactly when disqualified, from the planted list
    assert (leads[c.DISQUALIFY_REASON].notna() == leads[c.DISQUALIFIED_AT].notna()).all()
    assert leads[c.DISQUALIFY_REASON].dropna().isin(list(PLAN.disqualify_reasons)).all()
    # 3 to 5 leads per deal, as issue 16's brief asks
    assert 3.0 <= len(leads) / len(crm.tables[c.DEALS]) <= 5.0


def test_every_deal_has_exactly_one_converted_lead_with_its_attributes(crm, leads):
    deals = crm.tables[c.DEALS].set_index(c.DEAL_ID)
    converted = leads[leads[c.CONVERTED_DEAL_ID].notna()].set_index(c.CONVERTED_DEAL_ID)
    assert converted.index.is_unique
    assert set(converted.index) == set(deals.index)
    converted = converted.loc[deals.index]
    assert (converted[c.LEAD_STATUS] == c.LEAD_CONVERTED).all()
    assert (converted[c.CONVERTED_AT] == deals[c.CREATED_AT]).all()
    for col in (c.SOURCE, c.SEGMENT, c.OWNER_ID):
        assert (converted[col] == deals[col]).all(), col
    for col in (c.MQL_AT, c.ACCEPTED_AT, c.SQL_AT, c.FIRST_RESPONSE_AT):
        assert converted[col].notna().all(), col
    assert converted[[c.DISQUALIFIED_AT, c.RECYCLED_AT]].isna().all().all()
    assert (leads[c.LEAD_STATUS] == c.LEAD_CONVERTED).sum() == len(deals)


def test_steps_are_ordered_and_before_the_cutoff(crm, leads):
    cutoff = pd.Timestamp(crm.truth["generator"]["cutoff"])
    for col in TIME_COLUMNS:
        assert (leads[col].dropna() < cutoff).all(), col
    chain = [c.CREATED_AT, c.MQL_AT, c.FIRST_RESPONSE_AT, c.ACCEPTED_AT, c.SQL_AT, c.CONVERTED_AT]
    for early, late in zip(chain, chain[1:], strict=False):
        both = leads[early].notna() & leads[late].notna()
        assert (leads.loc[both, early] <= leads.loc[both, late]).all(), (early, late)
        assert (leads[early].notna() | leads[late].isna()).all(), (early, late)  # no gaps
    for end in (c.DISQUALIFIED_AT, c.RECYCLED_AT):
        ended = leads[end].notna()
        assert leads.loc[ended, c.FIRST_RESPONSE_AT].notna().all()
        assert (leads.loc[ended, c.FIRST_RESPONSE_AT] <= leads.loc[ended, end]).all()
        for step in (c.ACCEPTED_AT, c.SQL_AT):
            m = ended & leads[step].notna()
            assert (leads.loc[m, step] <= leads.loc[m, end]).all()
    endings = leads[[c.CONVERTED_AT, c.DISQUALIFIED_AT, c.RECYCLED_AT]].notna().sum(axis=1)
    assert endings.max() == 1


def test_status_is_the_last_step_reached(leads):
    expected = pd.Series(c.LEAD_NEW, index=leads.index, dtype="str")
    for col, status in (
        (c.MQL_AT, c.LEAD_MQL),
        (c.ACCEPTED_AT, c.LEAD_ACCEPTED),
        (c.SQL_AT, c.LEAD_SQL),
        (c.CONVERTED_AT, c.LEAD_CONVERTED),
        (c.DISQUALIFIED_AT, c.LEAD_DISQUALIFIED),
        (c.RECYCLED_AT, c.LEAD_RECYCLED),
    ):
        expected = expected.mask(leads[col].notna(), status)
    assert (leads[c.LEAD_STATUS] == expected).all()


def test_funnel_counts_match_truth(crm, leads):
    realised = crm.truth["leads"]["realised"]
    assert realised["leads"] == len(leads)
    assert realised["status"] == leads[c.LEAD_STATUS].value_counts().to_dict() | {
        s: 0 for s in c.LEAD_STATUSES if s not in set(leads[c.LEAD_STATUS])
    }
    steps = decided(leads)
    passed = {
        "acceptance": leads[c.ACCEPTED_AT].notna(),
        "sql": leads[c.SQL_AT].notna(),
        "opportunity": leads[c.CONVERTED_AT].notna(),
    }
    for step, m in steps.items():
        assert realised[step]["decided"] == m.sum(), step
        assert realised[step]["passed"] == (m & passed[step]).sum(), step
    assert realised["mql"] == leads[c.MQL_AT].notna().sum()


# --- planted truth ------------------------------------------------------------------------


def test_paid_has_the_most_mqls_and_the_lowest_acceptance(crm, leads):
    spec = crm.truth["leads"]["low_acceptance_source"]
    assert spec["source"] == "paid" == min(PLAN.acceptance, key=PLAN.acceptance.get)
    mql = leads[leads[c.MQL_AT].notna()].groupby(c.SOURCE).size()
    assert mql.idxmax() == "paid" and spec["mql_rank"] == 1 and spec["mql"] == mql["paid"]
    steps = decided(leads)["acceptance"]
    rows = leads[steps].assign(accepted=leads[c.ACCEPTED_AT].notna())
    by_source = rows.groupby(c.SOURCE)["accepted"].agg(["sum", "size"])
    for src, row in by_source.iterrows():
        truth = crm.truth["leads"]["acceptance_by_source"][src]
        assert (truth["decided"], truth["passed"]) == (row["size"], row["sum"]), src
        low, high = proportion_confint(row["sum"], row["size"], alpha=ALPHA, method="wilson")
        assert low <= PLAN.acceptance[src] <= high, src
    paid = by_source.loc["paid"]
    rest = by_source.drop(index="paid").sum()
    _, p_value = proportions_ztest(
        [paid["sum"], rest["sum"]], [paid["size"], rest["size"]], alternative="smaller"
    )
    assert p_value < 1e-10  # paid accepts ~35 % against ~70 % elsewhere


def test_sql_rate_falls_with_response_time_within_fit_strata(crm, leads, fit):
    steps = decided(leads)["sql"].to_numpy()
    hours = hours_to_respond(leads).to_numpy()[steps]
    sql = leads[c.SQL_AT].notna().to_numpy()[steps]
    band = np.searchsorted(np.asarray(RESPONSE_BAND_HOURS), hours, side="right")
    truth = crm.truth["leads"]["response_time"]
    for b, name in enumerate(RESPONSE_BANDS):
        assert truth["by_band"][name]["decided"] == (band == b).sum()
        assert truth["by_band"][name]["passed"] == sql[band == b].sum()
    # within each fit third, answering within 1 h converts better than after 4 h
    strata = np.digitize(fit[steps], np.quantile(fit[steps], [1 / 3, 2 / 3]))
    for k in range(3):
        fast, slow = (strata == k) & (band == 0), (strata == k) & (band >= 2)
        _, p_value = proportions_ztest(
            [sql[fast].sum(), sql[slow].sum()], [fast.sum(), slow.sum()], alternative="larger"
        )
        assert p_value < 0.001, k
    # the naive comparison overstates the effect: fast leads are better leads
    mean_fit = [truth["by_band"][name]["mean_fit"] for name in RESPONSE_BANDS]
    assert mean_fit == sorted(mean_fit, reverse=True)


def test_logistic_regression_recovers_the_planted_response_effect(crm, leads, fit):
    steps = decided(leads)["sql"].to_numpy()
    hours = np.maximum(hours_to_respond(leads).to_numpy()[steps], 1 / 3600)  # as truth fits
    log2_hours = np.log2(hours / PLAN.reference_response_hours)
    b2b = (leads[c.SEGMENT].to_numpy()[steps] == c.B2B).astype(float)
    y = leads[c.SQL_AT].notna().to_numpy()[steps].astype(float)
    segments = np.column_stack([b2b, 1.0 - b2b])
    naive = sm.Logit(y, np.column_stack([segments, log2_hours])).fit(disp=0)
    adjusted = sm.Logit(y, np.column_stack([segments, log2_hours, fit[steps]])).fit(disp=0)
    planted = np.log(PLAN.response_odds_per_doubling)
    low, high = adjusted.conf_int(alpha=ALPHA)[2]
    assert low <= planted <= high
    low, high = adjusted.conf_int(alpha=ALPHA)[3]
    assert low <= PLAN.sql_fit_log_odds <= high
    assert naive.params[2] < adjusted.conf_int(alpha=ALPHA)[2][0]  # overstated, beyond error
    # truth's own fit (Newton-Raphson) against statsmodels; the first-response times in
    # the table are floored to the second, so the coefficients agree to about 1e-4
    fitted = crm.truth["leads"]["response_time"]["fitted"]
    assert fitted["rows"] == steps.sum()
    assert fitted["naive_log_odds_per_doubling"] == pytest.approx(naive.params[2], abs=1e-3)
    assert fitted["adjusted_for_fit_log_odds_per_doubling"] == pytest.approx(
        adjusted.params[2], abs=1e-3
    )


def test_no_budget_is_concentrated_in_one_campaign(crm, leads):
    spec = crm.truth["leads"]["disqualify_reasons"]
    assert (spec["campaign"], spec["reason"]) == ("Social Ads", "No budget")
    disq = leads[leads[c.DISQUALIFIED_AT].notna()]
    inside = disq[c.CAMPAIGN] == spec["campaign"]
    is_reason = disq[c.DISQUALIFY_REASON] == spec["reason"]
    counts = {
        "disqualified_in_campaign": inside.sum(),
        "reason_in_campaign": (inside & is_reason).sum(),
        "disqualified_elsewhere": (~inside).sum(),
        "reason_elsewhere": (~inside & is_reason).sum(),
    }
    assert {k: spec[k] for k in counts} == counts
    table = disq.groupby([c.CAMPAIGN, c.DISQUALIFY_REASON]).size()
    assert {
        (camp, reason): n
        for camp, reasons in spec["by_campaign"].items()
        for reason, n in reasons.items()
    } == table.to_dict()
    for n, k, planted in (
        (counts["disqualified_in_campaign"], counts["reason_in_campaign"], PLAN.concentrated_share),
        (counts["disqualified_elsewhere"], counts["reason_elsewhere"], 0.15),  # params: 0.15
    ):
        low, high = proportion_confint(k, n, alpha=ALPHA, method="wilson")
        assert low <= planted <= high
    # the concentrated reason tops the campaign's Pareto and no other campaign's
    top = disq.groupby(c.CAMPAIGN)[c.DISQUALIFY_REASON].agg(lambda s: s.value_counts().idxmax())
    assert list(top[top == spec["reason"]].index) == [spec["campaign"]]


# --- export -------------------------------------------------------------------------------


def test_leads_export_has_the_agreed_headers_and_crm_labels(tmp_path):
    crm = generate_sample(300, seed=4)
    write_sample(crm, tmp_path)
    exported = pd.read_csv(tmp_path / "leads.csv", dtype=str, keep_default_na=False)
    assert list(exported.columns) == EXPORT_HEADERS
    assert len(exported) == len(crm.tables[c.LEADS])
    assert set(exported["Lead Status"]) <= set(LEAD_STATUS_LABELS.values())
    assert set(exported["Lead Source"]) <= {"Inbound", "Outbound", "Referral", "Paid Ads", "Events"}
    assert exported["Create Date"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
