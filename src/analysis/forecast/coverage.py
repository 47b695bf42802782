"""Is there enough pipeline for the target? Coverage now, and what the team's history needs.

The rule of thumb is "three times the target in pipeline". A team's own
history gives its own number: in past windows, the share of the pipeline
due in a window that was won in it (with what new deals added); the
coverage that met the target in 80% of them is the coverage it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import paths
from analysis.core.errors import ConfigError
from analysis.core.yamlconfig import load_yaml_strict
from analysis.forecast import columns as c
from analysis.forecast.backtest import Backtest
from analysis.forecast.outlook import WindowForecast, due_pipeline

__all__ = ["TargetCoverage", "load_target", "target_coverage", "window_target"]

FEW_WINDOWS = 8  # fewer past windows than this: the needed coverage is a rough guide
COVERAGE_COLUMNS = (
    c.TARGET_AMOUNT, c.WON_SO_FAR_AMOUNT, c.DUE_PIPELINE, c.COVERAGE_NOW, c.NEEDED_COVERAGE, c.PIPELINE_NEEDED,
    c.PIPELINE_GAP, c.CHANCE_OF_TARGET, c.MEAN, c.WINDOWS, c.NOTE,
)  # fmt: skip


@dataclass(frozen=True)
class TargetCoverage:
    """The pipeline against a target, the coverage history says is needed, the chance of it.

    Attributes
    ----------
    table : pandas.DataFrame
        One row: ``target_amount, due_pipeline, coverage_now,
        needed_coverage, pipeline_needed, pipeline_gap, chance_of_target,
        mean, windows, note``.
    history : pandas.DataFrame
        The past windows it reads: ``window_start, window_end,
        due_pipeline, actual, conversion`` (actual / due pipeline).
    confidence : float
    """

    table: pd.DataFrame
    history: pd.DataFrame
    confidence: float

    def to_frame(self) -> pd.DataFrame:
        """The one-row table (a copy)."""
        return self.table.copy()


def target_coverage(
    forecast: WindowForecast, target: float, backtest: Backtest, confidence: float = 0.8
) -> TargetCoverage:
    """Coverage of ``target`` by the pipeline due in the forecast's window, and what is needed.

    Parameters
    ----------
    forecast : WindowForecast
        The window's forecast (:func:`~analysis.forecast.outlook.forecast_window`).
    target : float
        The amount to win in the window, in the data's currency.
    backtest : Backtest
        Past windows of the same length
        (:func:`~analysis.forecast.backtest.backtest_forecast`), whose
        ``due_pipeline`` and ``actual`` give the history.
    confidence : float
        The share of past windows in which the needed coverage would have
        met the target.

    Returns
    -------
    TargetCoverage

    Notes
    -----
    With :math:`P` the amount of open deals expected to close in the window
    (as on the forecast's ``as_of``), :math:`T` the target and :math:`B` what
    the window has already won when ``as_of`` is inside it (``won_so_far``),
    the pipeline has :math:`L = T - B` still to bring: ``coverage_now`` is
    :math:`P / L` (NaN, with the note ``target_met``, when :math:`L \\le 0`). In past window :math:`w`,
    :math:`r_w = A_w / P_w`: what was won in it (by any deal, new ones
    included) per unit of pipeline due at its start. Had the pipeline been
    :math:`k T`, the target was met when :math:`k r_w \\ge 1`; it is met in
    a share ``confidence`` of the windows when
    :math:`k = 1 / q_{1-c}(r)`, ``needed_coverage``, :math:`q` the
    empirical quantile (linear interpolation) over windows with
    :math:`P_w > 0`. ``pipeline_needed`` is :math:`kL` and ``pipeline_gap``
    :math:`\\max(0, kL - P)` (past windows were measured at their start;
    read from inside a window, the needed coverage is a rough guide). The
    backtest's windows must be as long as the forecast's (within 20%). ``chance_of_target`` is the share of the
    forecast's simulated totals at or above :math:`T`, the model's answer
    to the same question; ``mean`` its expected total. The ratio assumes
    what is won grows in proportion to the pipeline; with fewer than
    :data:`FEW_WINDOWS` windows ``note`` says the needed coverage is rough;
    when that quantile is 0 (too many windows won nothing) no coverage
    would have been enough: the needed coverage is NaN and ``note`` says why.
    """
    if not target > 0:
        raise ValueError(f"The target must be a positive amount, got {target}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}.")
    _check_lengths(forecast, backtest)
    history = backtest.table[[c.WINDOW_START, c.WINDOW_END, c.DUE_PIPELINE, c.ACTUAL]].copy()
    history = history[history[c.DUE_PIPELINE] > 0].reset_index(drop=True)
    history[c.CONVERSION] = history[c.ACTUAL] / history[c.DUE_PIPELINE]
    due = due_pipeline(forecast.deals, forecast.start, forecast.end)
    table = forecast.table.set_index(c.GROUP)
    booked = float(table.loc[c.WON_SO_FAR, c.MEAN]) if c.WON_SO_FAR in table.index else 0.0
    left = max(float(target) - booked, 0.0)  # what the pipeline still has to bring
    needed, note = np.nan, c.NOTE_NO_WINDOWS
    if len(history):
        low = np.quantile(history[c.CONVERSION], 1 - confidence)
        needed = 1 / low if low > 0 else np.nan  # no coverage would have been enough
        note = c.NOTE_FEW_WINDOWS if len(history) < FEW_WINDOWS else None
        note = c.NOTE_NOTHING_WON if not low > 0 else note
    if not left > 0:
        note = c.NOTE_TARGET_MET
    row = {
        c.TARGET_AMOUNT: float(target), c.WON_SO_FAR_AMOUNT: booked, c.DUE_PIPELINE: due,
        c.COVERAGE_NOW: due / left if left > 0 else np.nan,
        c.NEEDED_COVERAGE: needed, c.PIPELINE_NEEDED: needed * left,
        c.PIPELINE_GAP: max(0.0, needed * left - due) if needed > 0 else np.nan,
        c.CHANCE_OF_TARGET: forecast.chance_of_reaching(target),
        c.MEAN: table.loc[c.TOTAL, c.MEAN], c.WINDOWS: len(history), c.NOTE: note,
    }  # fmt: skip
    table = pd.DataFrame([row], columns=list(COVERAGE_COLUMNS))
    return TargetCoverage(table, history, confidence)


def _check_lengths(forecast: WindowForecast, backtest: Backtest) -> None:
    """Refuse history from windows of another length (a month's conversion is not a quarter's)."""
    if backtest.table.empty:
        return
    day = pd.Timedelta(days=1)
    past = ((backtest.table[c.WINDOW_END] - backtest.table[c.WINDOW_START]) / day).median()
    now = (forecast.end - forecast.start) / day
    if abs(past - now) > 0.2 * now:
        raise ValueError(
            f"The backtest's windows last about {past:.0f} days, the forecast window {now:.0f}: "
            "the coverage needed must come from windows as long (backtest with the same freq)."
        )


def load_target(
    start: pd.Timestamp, end: pd.Timestamp, path: str | Path | None = None
) -> float | None:
    """The target of the window ``[start, end)`` in a targets file, or None when it has none.

    ``path`` defaults to ``config/targets.yaml``; a default file that does
    not exist means no target.

    The file (``config/targets.yaml``) maps periods to amounts::

        targets:
          2026-Q3: 1200000      # a calendar quarter
          2026-07: 400000       # a calendar month
          2026-07-01/2026-10-01: 1200000   # any window, end exclusive

    Raises
    ------
    ConfigError
        When the file is not such a mapping, a period cannot be read or an
        amount is not a positive number (naming the file and the period).
    """
    if path is None:
        path = paths.TARGETS_FILE
        if not path.is_file():
            return None
    document = load_yaml_strict(path) or {}
    targets = document.get("targets") if isinstance(document, dict) else None
    if not isinstance(targets, dict):
        raise ConfigError("expected a mapping 'targets: {period: amount}'.", file=Path(path))
    for period, amount in targets.items():
        window = _period(str(period), path)
        if not isinstance(amount, int | float) or isinstance(amount, bool) or not amount > 0:
            raise ConfigError(
                f"the target of {period} must be a positive number, got {amount!r}.",
                file=Path(path),
                column=str(period),
            )
        if window == (start.tz_convert(None).normalize(), end.tz_convert(None).normalize()):
            return float(amount)
    return None


def _period(text: str, path) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``2026-Q3``, ``2026-07`` or ``START/END`` as a window of naive midnights."""
    try:
        if "/" in text:
            first, last = text.split("/", 1)
            return pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
        freq = "Q" if "Q" in text.upper() else "M"
        period = pd.Period(text.upper().replace("-Q", "Q"), freq=freq)
        return period.start_time.normalize(), (period + 1).start_time.normalize()
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"cannot read the period {text!r}: write 2026-Q3, 2026-07 or 2026-07-01/2026-10-01.",
            file=Path(path),
            column=text,
        ) from error


def window_target(
    target: float | None, start: pd.Timestamp, end: pd.Timestamp, path: str | Path | None = None
) -> float | None:
    """The target a page uses: ``target`` when given, else the targets file's for the window."""
    return float(target) if target is not None else load_target(start, end, path)
