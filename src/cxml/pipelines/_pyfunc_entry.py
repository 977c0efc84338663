# MLflow models-from-code entry point: this file is copied into the model directory and
# only imports the installed cxml; the model's state lives in JSON / LightGBM text artifacts.
from mlflow.models import set_model

from cxml.pipelines._pyfunc import CxmlPyfuncModel

set_model(CxmlPyfuncModel())
