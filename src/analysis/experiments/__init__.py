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
``reading`` (all of it for one experiment) and ``plots``. This package is
the one import of notebook ``02_ab_tests``.
"""

from __future__ import annotations

from analysis.experiments import columns
from analysis.experiments.bayes import (
    EXPECTED_LOSS,
    POSTERIOR_MEAN,
    PROB_BEATS_CONTROL,
    PROB_BEST,
    PROB_NEGLIGIBLE,
    BayesianReading,
    bayesian_conversion,
)
from analysis.experiments.clustered import ClusterDesign, icc_anova
from analysis.experiments.compare import ConversionComparison, compare_conversion
from analysis.experiments.plots import forest_plot, time_to_conversion_chart
from analysis.experiments.power import PowerAnalysis, power_analysis
from analysis.experiments.reading import (
    ACHIEVED_POWER,
    DETECTABLE_EFFECT,
    MAX_POWER_SAME_CLUSTERS,
    ExperimentReading,
    Judgement,
    bayes_table,
    comparison_table,
    deal_size_table,
    design_table,
    experiment_id_list,
    headline,
    judge_comparison,
    no_experiments_sentence,
    read_experiment,
    timing_table,
    verdict_table,
)
from analysis.experiments.resolve import ExperimentUnits, experiment_units, list_experiments
from analysis.experiments.sequential import SequentialPlan, sequential_boundaries
from analysis.experiments.srm import SampleRatioCheck, sample_ratio_mismatch
from analysis.experiments.timing import (
    CONVERTED_BY,
    DealSizeComparison,
    TimeToConversion,
    compare_amounts,
    time_to_conversion,
)
from analysis.experiments.verdict import Verdict, experiment_verdict

__all__ = [
    "ACHIEVED_POWER",
    "BayesianReading",
    "CONVERTED_BY",
    "ClusterDesign",
    "ConversionComparison",
    "DETECTABLE_EFFECT",
    "MAX_POWER_SAME_CLUSTERS",
    "DealSizeComparison",
    "EXPECTED_LOSS",
    "ExperimentReading",
    "ExperimentUnits",
    "Judgement",
    "POSTERIOR_MEAN",
    "PROB_BEATS_CONTROL",
    "PROB_BEST",
    "PROB_NEGLIGIBLE",
    "PowerAnalysis",
    "SampleRatioCheck",
    "SequentialPlan",
    "TimeToConversion",
    "Verdict",
    "bayes_table",
    "bayesian_conversion",
    "columns",
    "compare_amounts",
    "compare_conversion",
    "comparison_table",
    "deal_size_table",
    "design_table",
    "experiment_id_list",
    "experiment_units",
    "experiment_verdict",
    "forest_plot",
    "headline",
    "judge_comparison",
    "no_experiments_sentence",
    "icc_anova",
    "list_experiments",
    "power_analysis",
    "read_experiment",
    "sample_ratio_mismatch",
    "sequential_boundaries",
    "time_to_conversion",
    "time_to_conversion_chart",
    "timing_table",
    "verdict_table",
]
