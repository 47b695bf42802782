"""Feedback themes, distinguishing phrases, redaction and escaping.

Truth: direct Python counts of the generated comment texts, the generator's
planted theme weights (``truth["feedback"]``) and planted PII counts, and a
log-odds example computed by hand from Monroe et al. (2008), eqs. 16-20.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import make_processed_folder

import analysis
from analysis.core.errors import ConfigError
from analysis.present import redaction
from analysis.present.tables import styled_table
from analysis.sample import generate_sample
from analysis.winloss import columns as c
from analysis.winloss.feedback.coding import coded_comments, load_themes
from analysis.winloss.feedback.phrases import distinguishing_phrases, weighted_log_odds
from analysis.winloss.feedback.themes import theme_shares

DEALS, SEED = 8_000, 5


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = make_processed_folder(tmp_path_factory.mktemp("feedback"), DEALS, SEED)
    return analysis.connect(folder), generate_sample(DEALS, seed=SEED).truth, folder


def _comments(folder) -> pd.DataFrame:
    fb = pd.read_parquet(folder / "feedback.parquet")
    deals = pd.read_parquet(folder / "deals.parquet")[[c.DEAL_ID, c.OUTCOME]]
    return fb.merge(deals, on=c.DEAL_ID)


def test_default_lexicon_loads_every_planted_theme(sample):
    _, truth, _ = sample
    themes = load_themes()
    assert set(truth["feedback"]["themes"]) <= set(themes)


def test_theme_counts_equal_direct_count_of_theme_names(sample):
    ws, truth, folder = sample
    shares = theme_shares(ws).to_frame().set_index([c.OUTCOME, c.THEME])
    comments = _comments(folder)
    for (outcome, theme), row in shares.iterrows():
        part = comments[comments[c.OUTCOME] == outcome]
        # Every planted phrase contains its theme's name literally (sample/text.py).
        direct = part[c.TEXT].str.lower().str.contains(theme, regex=False).sum()
        assert row[c.N_MENTIONS] == direct, (outcome, theme)
        assert row[c.N_COMMENTS] == truth["feedback_realised"]["comments_by_outcome"][outcome]


def test_planted_theme_shares_of_won_comments_are_covered(sample):
    ws, truth, _ = sample
    themes = truth["feedback"]["themes"]
    shares = theme_shares(ws, alpha=0.05 / len(themes)).to_frame()
    won = shares[shares[c.OUTCOME] == c.WON].set_index(c.THEME)
    w = truth["feedback"]["theme_weights_by_outcome"][c.WON]
    q = truth["feedback"]["second_theme_prob"]
    total = sum(w.values())
    for theme in themes:
        p = w[theme] / total
        # Planted (sample/text.py): a won comment's first theme ~ w; a second theme ~ w is
        # kept with prob q when it differs from the first, and both phrases are written
        # whatever their order in THEMES. The two events are disjoint, so
        # P(mention) = P(first) + P(second kept) = p + q * p * (1 - p).
        expected = p + q * p * (1 - p)
        row = won.loc[theme]
        assert row[c.CI_LOW] <= expected <= row[c.CI_HIGH], (theme, expected, row[c.SHARE])


def test_shares_by_segment_source_and_period(sample):
    ws, _, _ = sample
    table = theme_shares(ws, by=[c.SEGMENT, c.LEAD_SOURCE, c.SOURCE], period="quarter")
    frame = table.to_frame()
    assert {c.SEGMENT, c.LEAD_SOURCE, c.SOURCE, c.PERIOD} <= set(frame.columns)
    assert frame[c.SHARE].between(0, 1).all()
    with pytest.raises(ValueError, match="Cannot split comments"):
        theme_shares(ws, by="nope")


def test_weighted_log_odds_hand_example():
    a = pd.Series({"price": 10, "support": 2})
    b = pd.Series({"price": 4, "support": 8})
    prior = pd.Series({"price": 1.0, "support": 1.0})
    out = weighted_log_odds(a, b, prior)
    # Hand calculation, Monroe et al. (2008) eq. 16 with n_a = n_b = 12, alpha_0 = 2:
    # price:   log(11 / (12 + 2 - 10 - 1)) - log(5 / (12 + 2 - 4 - 1)) = log(11/3) - log(5/9)
    # support: log(3 / (12 + 2 - 2 - 1))  - log(9 / (12 + 2 - 8 - 1)) = log(3/11) - log(9/5)
    d_price = math.log(11 / 3) - math.log(5 / 9)
    d_support = math.log(3 / 11) - math.log(9 / 5)
    assert out.loc["price", c.LOG_ODDS] == pytest.approx(d_price, abs=1e-12)
    assert out.loc["support", c.LOG_ODDS] == pytest.approx(d_support, abs=1e-12)
    # eq. 20: var = 1/(y_a + alpha) + 1/(y_b + alpha); z = delta / sd
    assert out.loc["price", c.Z_SCORE] == pytest.approx(d_price / math.sqrt(1 / 11 + 1 / 5))
    assert out.loc["support", c.Z_SCORE] == pytest.approx(d_support / math.sqrt(1 / 3 + 1 / 9))


def test_distinguishing_phrases_separate_won_from_lost(sample):
    ws, _, _ = sample
    table = distinguishing_phrases(ws, top=10).to_frame()
    won_side = set(table[table[c.Z_SCORE] > 0][c.PHRASE])
    lost_side = set(table[table[c.Z_SCORE] < 0][c.PHRASE])
    # Planted: "ease of use" and "support" dominate won comments (weights 0.30, 0.25),
    # "expensive" appears only in lost price phrases.
    assert {"ease", "support"} <= won_side
    assert "expensive" in lost_side
    assert table[c.Z_SCORE].is_monotonic_decreasing


def test_planted_pii_is_redacted_everywhere(sample, tmp_path):
    ws, truth, folder = sample
    raw = _comments(folder)[c.TEXT]
    assert raw.str.contains("@example.com").sum() == truth["feedback_realised"]["pii"]["email"]
    coded = ws.execute(coded_comments(ws))
    # Planted PII counts (truth["feedback_realised"]["pii"]) become tokens; none survives.
    assert (
        coded[c.TEXT].str.contains(re.escape(redaction.EMAIL_TOKEN)).sum()
        == (truth["feedback_realised"]["pii"]["email"])
    )
    assert (
        coded[c.TEXT].str.contains(re.escape(redaction.PHONE_TOKEN)).sum()
        == (truth["feedback_realised"]["pii"]["phone"])
    )
    assert not coded[c.TEXT].str.contains("@example.com|555 0", regex=True).any()
    phrases = distinguishing_phrases(ws, top=500, min_count=1).to_frame()
    assert not phrases[c.PHRASE].str.contains("example|jane|doe|0123|555", regex=True).any()


def test_hostile_comment_renders_as_text_and_pii_never_shown():
    deals = pd.DataFrame(
        {c.DEAL_ID: ["D1", "D2", "D3"], c.OUTCOME: [c.WON, c.LOST, c.LOST],
         c.SEGMENT: [c.B2B] * 3, c.SOURCE: ["inbound"] * 3}
    )  # fmt: skip
    texts = [
        "<script>alert(1)</script> price was fine, mail me at eve@evil.example",
        '<img src=x onerror="alert(1)"> call +44 20 7946 0958 about support',
        "[click](javascript:alert(1)) too expensive",
    ]
    fb = pd.DataFrame(
        {c.DEAL_ID: ["D1", "D2", "D3"], c.SOURCE: ["customer"] * 3, c.TEXT: texts,
         c.COLLECTED_AT: pd.Timestamp("2025-01-01", tz="UTC"), c.RATING: 3.0}
    )  # fmt: skip
    ws = analysis.connect({c.DEALS: deals, c.FEEDBACK: fb})
    coded = ws.execute(coded_comments(ws))
    html = styled_table(coded[[c.TEXT, c.OUTCOME]], percent=()).to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert "eve@evil.example" not in html and "7946" not in html
    markdown = " ".join(redaction.escape_markdown(t) for t in texts)
    assert "<script>" not in markdown and "<img" not in markdown
    assert "javascript:" not in markdown and "](" not in markdown
    assert "eve@evil.example" not in markdown and "0958" not in markdown
    shares = theme_shares(ws).to_frame().set_index([c.OUTCOME, c.THEME])
    assert shares.loc[(c.LOST, "price"), c.N_MENTIONS] == 1  # "expensive" is price talk


def test_empty_text_and_no_comments_give_messages(sample):
    ws, _, _ = sample
    deals = pd.DataFrame({c.DEAL_ID: ["D1"], c.OUTCOME: [c.WON], c.SEGMENT: [c.B2C],
                          c.SOURCE: ["paid"]})  # fmt: skip
    fb = pd.DataFrame({c.DEAL_ID: ["D1"], c.SOURCE: ["rep"], c.TEXT: [None],
                       c.COLLECTED_AT: pd.Timestamp("2025-01-01", tz="UTC"), c.RATING: np.nan})  # fmt: skip
    tiny = analysis.connect({c.DEALS: deals, c.FEEDBACK: fb})
    shares = theme_shares(tiny).to_frame()
    assert (shares[c.N_MENTIONS] == 0).all() and (shares[c.SHARE] == 0).all()
    phrases = distinguishing_phrases(tiny)
    assert phrases.to_frame().empty and "No comments" in phrases.warnings[0]
    none = theme_shares(ws, window=("1990-01-01", "1990-02-01")).to_frame()
    assert (none[c.NOTE] == c.NOTE_NO_COMMENTS).all()


def test_bad_lexicon_is_a_config_error(tmp_path):
    path = tmp_path / "themes.yaml"
    path.write_text("themes:\n  price:\n    wrods: [price]\n")
    with pytest.raises(ConfigError, match="unknown key 'wrods'"):
        load_themes(path)
    path.write_text("themes:\n  price:\n    patterns: ['(unclosed']\n")
    with pytest.raises(ConfigError, match="does not compile"):
        load_themes(path)
