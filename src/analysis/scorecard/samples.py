"""One measure of one period as a sample: its estimate, and its change against another.

Each kind of measure keeps the small summary its statistics need (successes
and trials, a histogram of days, revenue per rep, spend and customers) and
answers three questions the scorecard asks of every cell: the value with
its interval, the p-value of the change against a baseline, and the change
with an interval at a given level. The interval inverts the same test as the
p-value, so a change is "beyond noise" exactly when its interval excludes no
change (the rule of :mod:`analysis.stats.multitest`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binom, norm, t

from analysis.stats.means import positive_mean_interval
from analysis.stats.rates import rate_with_interval
from analysis.stats.score import score_interval, score_test_p
from analysis.team.acquisition.cac import cac_interval

BOOTSTRAP_DRAWS = 4000
BOOTSTRAP_SEED = 20_260_701  # fixed: the same data always gives the same interval


@dataclass(frozen=True)
class Rate:
    """``successes`` of ``trials``: a stage's conversion or the win rate.

    Notes
    -----
    Value: Wilson interval. Change: difference in proportions with the
    Miettinen–Nurminen score test and the interval that inverts it
    (:mod:`analysis.stats.score`).
    """

    successes: int
    trials: int
    kind = "difference"

    @property
    def basis(self) -> int:
        return self.trials

    def estimate(self, alpha: float) -> tuple[float, float, float]:
        value, low, high = rate_with_interval(self.successes, self.trials, alpha=alpha)
        return float(value[0]), float(low[0]), float(high[0])

    def p_value(self, base: Rate) -> float:
        if not (self.trials and base.trials):
            return np.nan
        pooled = (self.successes + base.successes) / (self.trials + base.trials)
        if pooled in (0.0, 1.0):
            return 1.0  # all or none succeeded in both periods: no evidence of change
        return float(score_test_p(self.successes, self.trials, base.successes, base.trials))

    def change(self, base: Rate, alpha: float) -> tuple[float, float, float]:
        if not (self.trials and base.trials):
            return np.nan, np.nan, np.nan
        diff = self.successes / self.trials - base.successes / base.trials
        low, high = score_interval(self.successes, self.trials, base.successes, base.trials, alpha)
        return diff, float(low), float(high)


@dataclass(frozen=True)
class Days:
    """Whole days to win of the deals won in a period, as a histogram.

    Notes
    -----
    Value: the median with the distribution-free interval from order
    statistics, :math:`[x_{(j)}, x_{(n-j+1)}]` with :math:`j` the largest
    integer such that :math:`P(B \\le j - 1) \\le \\alpha/2` for
    :math:`B \\sim Bin(n, 1/2)`. Change: difference of medians with a
    percentile bootstrap (each period's histogram resampled as a
    multinomial); its p-value is :math:`2\\min(P^*(d \\le 0), P^*(d \\ge 0))`,
    the smallest level whose percentile interval excludes 0.
    """

    days: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    kind = "difference"

    @property
    def basis(self) -> int:
        return int(self.counts.sum())

    def _sorted(self) -> np.ndarray:
        return np.repeat(self.days, self.counts)

    def estimate(self, alpha: float) -> tuple[float, float, float]:
        values = self._sorted()
        n = len(values)
        if n == 0:
            return np.nan, np.nan, np.nan
        j = int(binom.ppf(alpha / 2, n, 0.5))  # P(B <= j) >= alpha/2 first here
        if binom.cdf(j, n, 0.5) > alpha / 2:
            j -= 1
        # j order statistics lie below the interval with probability <= alpha/2.
        if j < 0:
            return float(np.median(values)), np.nan, np.nan
        return float(np.median(values)), float(values[j]), float(values[n - j - 1])

    def _draws(self, base: Days) -> np.ndarray | None:
        if not (self.basis and base.basis):
            return None
        rng = np.random.default_rng(BOOTSTRAP_SEED)
        return _medians(self, rng) - _medians(base, rng)

    def p_value(self, base: Days) -> float:
        draws = self._draws(base)
        if draws is None:
            return np.nan
        tail = min(np.mean(draws <= 0), np.mean(draws >= 0))
        return float(min(1.0, max(2 * tail, 1 / BOOTSTRAP_DRAWS)))

    def change(self, base: Days, alpha: float) -> tuple[float, float, float]:
        draws = self._draws(base)
        if draws is None:
            return np.nan, np.nan, np.nan
        diff = float(np.median(self._sorted()) - np.median(base._sorted()))
        low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
        return diff, float(low), float(high)


def _medians(sample: Days, rng: np.random.Generator) -> np.ndarray:
    """Medians of BOOTSTRAP_DRAWS multinomial resamples of a histogram."""
    n = sample.basis
    draws = rng.multinomial(n, sample.counts / n, size=BOOTSTRAP_DRAWS).cumsum(axis=1)
    lower = (draws >= (n + 1) // 2).argmax(axis=1)  # order statistics (n+1)//2 and n//2+1
    upper = (draws >= n // 2 + 1).argmax(axis=1)
    return (sample.days[lower] + sample.days[upper]) / 2


@dataclass(frozen=True)
class PerRep:
    """Won revenue of each rep who carried pipeline in a period (0 for none won).

    Notes
    -----
    Value: the mean over reps with a t interval on the log scale
    (:func:`analysis.stats.means.positive_mean_interval`). Change: Welch's
    t-test and interval of the difference of means. The same reps appear in
    both periods, so the periods are positively correlated and Welch's
    interval is, if anything, too wide.
    """

    revenue: np.ndarray = field(repr=False)
    kind = "difference"

    @property
    def basis(self) -> int:
        return len(self.revenue)

    def estimate(self, alpha: float) -> tuple[float, float, float]:
        n = len(self.revenue)
        if n == 0:
            return np.nan, np.nan, np.nan
        mean = float(self.revenue.mean())
        if n < 2:
            return mean, np.nan, np.nan
        se = self.revenue.std(ddof=1) / np.sqrt(n)
        low, high = positive_mean_interval(mean, se, t.ppf(1 - alpha / 2, n - 1))
        return mean, float(low), float(high)

    def _welch(self, base: PerRep) -> tuple[float, float, float] | None:
        a, b = self.revenue, base.revenue
        if len(a) < 2 or len(b) < 2:
            return None
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = np.sqrt(va + vb)
        if se == 0:
            return None
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        return float(a.mean() - b.mean()), float(se), float(df)

    def p_value(self, base: PerRep) -> float:
        fit = self._welch(base)
        return np.nan if fit is None else float(2 * t.sf(abs(fit[0] / fit[1]), fit[2]))

    def change(self, base: PerRep, alpha: float) -> tuple[float, float, float]:
        fit = self._welch(base)
        if fit is None:
            return np.nan, np.nan, np.nan
        diff, se, df = fit
        half = t.ppf(1 - alpha / 2, df) * se
        return diff, diff - half, diff + half


@dataclass(frozen=True)
class Cost:
    """Acquisition spend of a period and the new customers won in it.

    Notes
    -----
    Value: :math:`CAC = S/k` with the Garwood interval of the Poisson count
    :math:`k` (:func:`analysis.team.acquisition.cac_interval`). Change: the
    ratio :math:`CAC_1 / CAC_0` with the Wald interval on the log scale,
    :math:`\\log(S_1 k_0 / S_0 k_1) \\pm z\\sqrt{1/k_1 + 1/k_0}`, and the test
    it inverts; spend is taken as known.
    """

    spend: float
    customers: int
    kind = "ratio"

    @property
    def basis(self) -> int:
        return self.customers

    def estimate(self, alpha: float) -> tuple[float, float, float]:
        value, low, high = cac_interval([self.spend], [self.customers], alpha)
        return float(value[0]), float(low[0]), float(high[0])

    def _log_ratio(self, base: Cost) -> tuple[float, float] | None:
        if min(self.customers, base.customers) < 1 or min(self.spend, base.spend) <= 0:
            return None
        log_ratio = np.log(self.spend / self.customers) - np.log(base.spend / base.customers)
        return float(log_ratio), float(np.sqrt(1 / self.customers + 1 / base.customers))

    def p_value(self, base: Cost) -> float:
        fit = self._log_ratio(base)
        return np.nan if fit is None else float(2 * norm.sf(abs(fit[0] / fit[1])))

    def change(self, base: Cost, alpha: float) -> tuple[float, float, float]:
        fit = self._log_ratio(base)
        if fit is None:
            return np.nan, np.nan, np.nan
        log_ratio, se = fit
        z = norm.ppf(1 - alpha / 2)
        return tuple(float(np.exp(v)) for v in (log_ratio, log_ratio - z * se, log_ratio + z * se))


Sample = Rate | Days | PerRep | Cost
