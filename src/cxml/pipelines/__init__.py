"""Train, score and evaluate pipelines orchestrating data, features, models and tracking."""

from cxml.pipelines._bundle import FeatureSpec, ModelBundle
from cxml.pipelines._config import Config, default_config_path, load_config
from cxml.pipelines._evaluate import EVALUATION_COLUMNS, evaluate, evaluate_config
from cxml.pipelines._output import write_table
from cxml.pipelines._score import SCORE_COLUMNS, score
from cxml.pipelines._segmenting import segment_scores
from cxml.pipelines._train import TrainResult, train

__all__ = [
    "Config",
    "EVALUATION_COLUMNS",
    "FeatureSpec",
    "ModelBundle",
    "SCORE_COLUMNS",
    "TrainResult",
    "default_config_path",
    "evaluate",
    "evaluate_config",
    "load_config",
    "score",
    "segment_scores",
    "train",
    "write_table",
]
