"""MLflow's python_function flavor of a malaria-mlops model (a TF.js layers model with preprocessing.json).

MLflow adds the model's `code/` folder to sys.path and calls `_load_pyfunc(<model folder>)`; the
result's `predict` takes cell images and returns P(Parasitized) and the label per image, as
`npm run serve` answers. Keras rebuilds the network, on whichever backend it runs on.
"""

from .classifier import CellClassifier


def _load_pyfunc(path, model_config=None):
    return CellClassifier.load(path, model_config)
