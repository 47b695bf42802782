"""A/B tests of sales approaches: email templates, call scripts, demo formats.

Sales tests have tens to thousands of deals, outcomes that arrive weeks later
and are often randomised by rep or account, so deals are not independent.
Row-level work (who is in the test, did the deal convert, when) runs in the
engine (:mod:`.resolve`); the statistics run on the small per-variant and
per-cluster counts that come back.

Modules: ``resolve`` (units from the canonical tables), ``compare``
(conversion by variant), ``clustered`` (rep/account randomisation), ``srm``,
``power``, ``timing`` (time to conversion, deal size), ``bayes``,
``sequential`` (alpha spending), ``verdict`` (the decision in words),
``reading`` (all of it for one experiment) and ``plots``.
"""

from __future__ import annotations

from analysis.experiments.bayes import BayesianReading, bayesian_conversion
from analysis.experiments.clustered import ClusterDesign, icc_anova
from analysis.experiments.compare import ConversionComparison, compare_conversion
from analysis.experiments.power import PowerAnalysis, power_analysis
from analysis.experiments.reading import ExperimentReading, read_experiment
from analysis.experiments.resolve import ExperimentUnits, experiment_units, list_experiments
from analysis.experiments.sequential import SequentialPlan, sequential_boundaries
from analysis.experiments.srm import SampleRatioCheck, sample_ratio_mismatch
from analysis.experiments.timing import (
    DealSizeComparison,
    TimeToConversion,
    compare_amounts,
    time_to_conversion,
)
from analysis.experiments.verdict import Verdict, experiment_verdict
from analysis.stats.experiment_proportions import two_proportion_ztest

__all__ = [
    "BayesianReading",
    "ClusterDesign",
    "ConversionComparison",
    "DealSizeComparison",
    "ExperimentReading",
    "ExperimentUnits",
    "PowerAnalysis",
    "SampleRatioCheck",
    "SequentialPlan",
    "TimeToConversion",
    "Verdict",
    "bayesian_conversion",
    "compare_amounts",
    "compare_conversion",
    "experiment_units",
    "experiment_verdict",
    "icc_anova",
    "list_experiments",
    "power_analysis",
    "read_experiment",
    "sample_ratio_mismatch",
    "sequential_boundaries",
    "time_to_conversion",
    "two_proportion_ztest",
]
