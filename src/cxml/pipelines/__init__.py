"""Train, score and evaluate pipelines orchestrating data, features, models and tracking.

:func:`score`, :func:`score_to_file` and :func:`iter_scores` take their run options
(chunking, read policies, the stale-horizon switch, explanations) as one
:class:`ScoreOptions` (``options=``) or as its fields in keywords.
"""

from cxml.pipelines._bundle import (
    PURCHASE_MODELS,
    BundleManifest,
    FeatureColumn,
    FeatureSpec,
    ModelBundle,
    load_model,
    purchase_model_name,
    resolve_bundle_dir,
)
from cxml.pipelines._compare import (
    LEADERBOARD_COLUMNS,
    SELECT_METRICS,
    CompareResult,
    compare,
    paired_bootstrap,
)
from cxml.pipelines._config import (
    CompareConfig,
    Config,
    SourceConfig,
    candidate_configs,
    default_config_path,
    load_config,
)
from cxml.pipelines._data_report import report_lines, report_metrics
from cxml.pipelines._evaluate import EVALUATION_COLUMNS, evaluate, evaluate_config
from cxml.pipelines._output import TableWriter, check_output_path, write_table
from cxml.pipelines._output_table import DatabaseTableWriter, OutputTable
from cxml.pipelines._reasons import NOT_A_REASON
from cxml.pipelines._score import (
    ScoreSummary,
    churn_matrix,
    iter_scores,
    read_events,
    score,
    score_to_file,
)
from cxml.pipelines._score_options import ScoreOptions
from cxml.pipelines._score_schema import (
    SCORE_COLUMNS,
    SCORE_DTYPES,
    reason_columns,
    reason_dtypes,
)
from cxml.pipelines._segmenting import segment_scores
from cxml.pipelines._train import TrainResult, train

__all__ = [
    "BundleManifest",
    "CompareConfig",
    "CompareResult",
    "Config",
    "DatabaseTableWriter",
    "EVALUATION_COLUMNS",
    "PURCHASE_MODELS",
    "FeatureColumn",
    "FeatureSpec",
    "LEADERBOARD_COLUMNS",
    "NOT_A_REASON",
    "ModelBundle",
    "OutputTable",
    "SCORE_COLUMNS",
    "SCORE_DTYPES",
    "SELECT_METRICS",
    "ScoreOptions",
    "ScoreSummary",
    "SourceConfig",
    "TableWriter",
    "TrainResult",
    "candidate_configs",
    "check_output_path",
    "churn_matrix",
    "compare",
    "default_config_path",
    "evaluate",
    "evaluate_config",
    "iter_scores",
    "load_config",
    "load_model",
    "paired_bootstrap",
    "purchase_model_name",
    "read_events",
    "reason_columns",
    "reason_dtypes",
    "report_lines",
    "report_metrics",
    "resolve_bundle_dir",
    "score",
    "score_to_file",
    "segment_scores",
    "train",
    "write_table",
]
