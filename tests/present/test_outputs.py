"""CSV tables written beside each page are safe to open in a spreadsheet (issue 20).

Expected values are hand-written: the OWASP rule for CSV injection prefixes
a text cell starting with = + - @ tab or carriage return with a quote;
contacts are redacted as on the pages (analysis.present.redaction).
"""

from __future__ import annotations

import pandas as pd

from analysis.present.outputs import shareable_table, write_outputs


def test_formulas_are_neutralised_and_numbers_stay_numbers(tmp_path):
    frame = pd.DataFrame(
        {
            "rep": ['=HYPERLINK("http://evil.example","Ana")', "+1+1", "@SUM(A1)", "Bo", None],
            "note": ["-2 points", "\tx", "call jane@example.com", "ok", "fine"],
            "win_rate": [-0.5, 0.2, 0.3, 0.4, 0.5],
        }
    )
    write_outputs(tmp_path, {"reps": frame}, {"headline": []})
    back = pd.read_csv(tmp_path / "reps.csv", dtype={"rep": str, "note": str})
    assert back["rep"].tolist()[:4] == [
        '\'=HYPERLINK("http://evil.example","Ana")',
        "'+1+1",
        "'@SUM(A1)",
        "Bo",
    ]
    assert pd.isna(back["rep"].iloc[4])  # a missing cell stays empty
    assert back["note"].tolist()[:3] == ["'-2 points", "'\tx", "call [email]"]
    assert back["win_rate"].tolist() == [-0.5, 0.2, 0.3, 0.4, 0.5]  # numbers untouched


def test_redaction_can_be_turned_off_but_formulas_never_pass():
    frame = pd.DataFrame({"text": ["jane@example.com", "=1+1"]})
    assert shareable_table(frame, redact=False)["text"].tolist() == ["jane@example.com", "'=1+1"]
    assert frame["text"].tolist() == ["jane@example.com", "=1+1"]  # the input is not changed
