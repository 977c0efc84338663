"""Train, score and evaluate pipelines orchestrating data, features, models and tracking."""

from cxml.pipelines._bundle import FeatureSpec, ModelBundle
from cxml.pipelines._config import Config, default_config_path, load_config
from cxml.pipelines._data_report import report_lines, report_metrics
from cxml.pipelines._evaluate import EVALUATION_COLUMNS, evaluate, evaluate_config
from cxml.pipelines._output import write_table
from cxml.pipelines._score import (
    SCORE_COLUMNS,
    ScoreSummary,
    iter_scores,
    load_model,
    score,
    score_to_file,
)
from cxml.pipelines._segmenting import segment_scores
from cxml.pipelines._train import TrainResult, train

__all__ = [
    "Config",
    "EVALUATION_COLUMNS",
    "FeatureSpec",
    "ModelBundle",
    "SCORE_COLUMNS",
    "ScoreSummary",
    "TrainResult",
    "default_config_path",
    "evaluate",
    "evaluate_config",
    "iter_scores",
    "load_config",
    "load_model",
    "report_lines",
    "report_metrics",
    "score",
    "score_to_file",
    "segment_scores",
    "train",
    "write_table",
]
