"""An independent Miettinen–Nurminen score interval, by brute force, for the tests.

The restricted maximum-likelihood rates are found by numerical maximisation
(not the closed-form cubic of analysis.stats.score) and each end of the
interval by scipy's brentq. statsmodels' own score interval for a difference
cannot serve: its restricted MLE has a wrong coefficient when the difference
under the null is not 0 (statsmodels issue #10269), and its root bracketing
fails on some tables (38/175 against 100/335).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def _restricted(x1: float, n1: float, x2: float, n2: float, delta: float) -> tuple[float, float]:
    """argmax of the two binomial log-likelihoods subject to p1 - p2 = delta."""
    eps = 1e-12

    def negative_loglik(q2: float) -> float:
        q1 = q2 + delta
        terms = [(x1, q1), (n1 - x1, 1 - q1), (x2, q2), (n2 - x2, 1 - q2)]
        return -sum(k * np.log(max(q, eps)) for k, q in terms if k > 0)

    low, high = max(0.0, -delta), min(1.0, 1.0 - delta)
    res = optimize.minimize_scalar(
        negative_loglik, bounds=(low, high), method="bounded", options={"xatol": 1e-13}
    )
    return res.x + delta, res.x


def mn_statistic(x1: float, n1: float, x2: float, n2: float, delta: float) -> float:
    q1, q2 = _restricted(x1, n1, x2, n2, delta)
    var = (q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2) * (n1 + n2) / (n1 + n2 - 1)
    return (x1 / n1 - x2 / n2 - delta) / np.sqrt(var)


def mn_interval(x1: float, n1: float, x2: float, n2: float, alpha: float = 0.05):
    """(low, high): the differences the Miettinen–Nurminen score test does not reject."""
    q = stats.norm.isf(alpha / 2)
    d = x1 / n1 - x2 / n2
    edge = 1 - 1e-9
    low = optimize.brentq(lambda t: mn_statistic(x1, n1, x2, n2, t) - q, -edge, d, xtol=1e-12)
    high = optimize.brentq(lambda t: mn_statistic(x1, n1, x2, n2, t) + q, d, edge, xtol=1e-12)
    return low, high
