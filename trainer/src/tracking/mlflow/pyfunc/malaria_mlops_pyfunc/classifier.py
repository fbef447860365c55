"""The model as MLflow's python_function flavor serves it: images in, P(Parasitized) and a label out."""

import json
import os

import numpy as np

from .images import (
    ImageError,
    check_aspect_ratio,
    decode_rgba,
    encoded_bytes,
    pixel_array_rgba,
    to_model_input,
)
from .network import Network

# What `npm run serve` refuses or warns about (serve/input-contract.ts); the MLmodel file passes
# the trainer's values as the flavor's model_config.
DEFAULT_CONTRACT = {"warn_aspect_ratio_above": 1.5, "refuse_aspect_ratio_above": 3.0}


def _bad_input(message):
    """A 400 from `mlflow models serve`, a clear exception in Python."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
    except ImportError:
        return ImageError(message)
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def _square_symmetries(images):
    """The 8 flips and quarter turns of (N, S, S, 3) images, as the trainer's test-time augmentation scores them."""
    views = []
    for flipped in (images, images[:, :, ::-1]):
        for turns in range(4):
            views.append(np.rot90(flipped, turns, axes=(1, 2)))
    return views


def _items(model_input):
    """The images of a predict call, one by one."""
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        if model_input.shape[1] == 0:
            raise ImageError("the DataFrame has no columns; put the images in its first (or 'image') column")
        column = "image" if "image" in model_input.columns else model_input.columns[0]
        return list(model_input[column])
    if isinstance(model_input, pd.Series):
        return list(model_input)
    if isinstance(model_input, np.ndarray) and model_input.dtype.kind in "uif":
        if model_input.ndim == 3:
            return [model_input]
        if model_input.ndim == 4:
            return list(model_input)
        raise ImageError(f"an array of shape {model_input.shape}; expected one image (height x width x 3) or a batch of them")
    if isinstance(model_input, (list, tuple, np.ndarray)):
        return list(model_input)
    return [model_input]


class CellClassifier:
    """Scores single-cell images as the run that trained the model did: its preprocessing
    (preprocessing.json: input size, scaling, test-time augmentation) and its decision threshold."""

    def __init__(self, network, preprocessing, contract=None):
        self.network = network
        self.preprocessing = preprocessing
        self.contract = {**DEFAULT_CONTRACT, **(contract or {})}
        self.size = int(preprocessing["inputSize"])
        if network.input_size != self.size:
            raise ImageError(f"the network takes {network.input_size} px images but preprocessing.json says {self.size}")

    @classmethod
    def load(cls, model_dir, model_config=None):
        path = os.path.join(model_dir, "preprocessing.json")
        try:
            with open(path, encoding="utf-8") as f:
                preprocessing = json.load(f)
        except (OSError, ValueError) as error:
            raise ImageError(f"{path} cannot be read ({error}); the model folder is incomplete") from None
        # Models saved before test-time augmentation existed were scored without it.
        preprocessing.setdefault("tta", False)
        return cls(Network.load(model_dir), preprocessing, model_config)

    @property
    def negative_class(self):
        positive = self.preprocessing["positiveClass"]
        return next(name for name in self.preprocessing["classNames"] if name != positive)

    def get_raw_model(self):
        """What `PyFuncModel.get_raw_model()` returns: this classifier, whose `predict` also takes
        pixel arrays, which the model's signature (encoded images) does not let through."""
        return self

    def prepare(self, item, where, pixel_range="0-255"):
        """One image as the model's size x size RGB bytes, and its warning (or None)."""
        if isinstance(item, dict) and set(item) == {"b64"}:
            item = item["b64"]
        if isinstance(item, np.generic):
            item = item.item()
        if isinstance(item, (bytes, bytearray, memoryview, str)):
            rgba = decode_rgba(encoded_bytes(item, where), where)
        elif isinstance(item, (np.ndarray, list, tuple)):
            rgba = pixel_array_rgba(item, where, pixel_range)
        else:
            raise ImageError(
                f"{where}: got {type(item).__name__}; expected a PNG or JPEG image (its bytes or base64 text) "
                "or a height x width x 3 array of 0-255 integers"
            )
        height, width = rgba.shape[:2]
        warning = check_aspect_ratio(width, height, where, self.contract)
        return to_model_input(rgba, self.size), warning

    def probabilities(self, images):
        """P(positive) of (N, size, size, 3) uint8 images, averaged over the 8 symmetries when the run used them."""
        scaled = (images.astype(np.float64) * self.preprocessing["scale"]).astype(np.float32)
        if not self.preprocessing["tta"]:
            return self.network(scaled)
        views = _square_symmetries(scaled)
        outputs = self.network(np.ascontiguousarray(np.concatenate(views)))
        return outputs.reshape(len(views), len(images)).mean(axis=0, dtype=np.float64).astype(np.float32)

    def predict(self, model_input, params=None):
        """One row per image: `probability` (of the positive class, Parasitized) and `label` at the
        run's threshold, and `warning` when some image is far from square.

        Images: PNG or JPEG files (bytes, or base64 text) in a DataFrame's first column (or one named
        `image`), a Series or a list; or height x width x 3 arrays of 0-255 integers (0-1 floats with
        params={"pixel_range": "0-1"}), one by one or stacked (N, H, W, 3).
        """
        import pandas as pd

        pixel_range = (params or {}).get("pixel_range", "0-255")
        try:
            items = _items(model_input)
            if not items:
                raise ImageError("no images; send at least one")
            prepared = [self.prepare(item, f"image {i}", pixel_range) for i, item in enumerate(items)]
        except ImageError as error:
            raise _bad_input(str(error)) from None
        probabilities = self.probabilities(np.stack([rgb for rgb, _ in prepared]))
        threshold = self.preprocessing["threshold"]
        positive = self.preprocessing["positiveClass"]
        result = pd.DataFrame({
            "probability": probabilities.astype(np.float64),
            "label": [positive if p >= threshold else self.negative_class for p in probabilities],
        })
        warnings = [warning for _, warning in prepared]
        if any(warnings):
            result["warning"] = warnings
        return result
