"""The network of a TF.js layers model, rebuilt by Keras.

A TF.js layers model is a Keras model: `model.json`'s `modelTopology` is the Keras 2 configuration
of the network (TF.js writes it in the format Keras 2 saved), and its `weightsManifest` names every
weight as `<layer>/<weight>`, Keras' own paths. Keras 3 still reads Keras 2 configurations (its
legacy deserializer, the one that loads old .h5 files), so the network is Keras' own, on whichever
backend Keras runs on.
"""

import importlib.util
import json
import os
import sys

import numpy as np

_WEIGHT_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
# Inputs per call of the network: batches are padded up to a power of two no larger than this, so
# backends that compile per input shape (JAX, TensorFlow's XLA) compile a handful of shapes at most.
MAX_BATCH = 64


class NetworkError(RuntimeError):
    """The model folder cannot be rebuilt: the message names the file and the fix."""


_BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def choose_backend():
    """Leaves Keras' backend to the user (KERAS_BACKEND, an imported Keras, ~/.keras/keras.json) when
    it is installed, and otherwise takes one that is: JAX, then TensorFlow, then PyTorch.

    Keras writes keras.json naming TensorFlow the first time it is imported, whether or not
    TensorFlow is installed, so a configured backend only counts when it can be imported.
    """
    if "KERAS_BACKEND" in os.environ or "keras" in sys.modules:
        return
    config = os.path.join(os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")), "keras.json")
    try:
        with open(config, encoding="utf-8") as f:
            configured = json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        configured = "tensorflow"
    if configured not in _BACKEND_MODULES or importlib.util.find_spec(_BACKEND_MODULES[configured]) is not None:
        return
    for backend in ("jax", "tensorflow", "torch"):
        if importlib.util.find_spec(_BACKEND_MODULES[backend]) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return


def _import_keras():
    choose_backend()
    try:
        import keras
    except ImportError as error:
        raise NetworkError(
            f"Keras 3 and a backend are needed to load this model ({error}); "
            "install the model's requirements.txt (e.g. pip install keras 'jax[cpu]')"
        ) from None
    if not hasattr(keras, "legacy") or not keras.__version__.startswith("3."):
        raise NetworkError(f"Keras 3 is needed to load this model; this is Keras {keras.__version__}: pip install 'keras>=3.5'")
    return keras


def _read_weights(model_dir, manifest):
    """{weight path: array} from the manifest's binary files (concatenated per group, little-endian)."""
    values = {}
    for group in manifest:
        try:
            data = b"".join(open(os.path.join(model_dir, path), "rb").read() for path in group["paths"])
        except OSError as error:
            raise NetworkError(f"{model_dir}: cannot read the weights ({error})") from None
        offset = 0
        for spec in group["weights"]:
            if spec.get("quantization") or spec["dtype"] not in _WEIGHT_DTYPES:
                raise NetworkError(f"{model_dir}: weight {spec['name']} is {spec.get('quantization') or spec['dtype']}; only unquantized float32 models are supported")
            dtype = np.dtype(_WEIGHT_DTYPES[spec["dtype"]]).newbyteorder("<")
            count = int(np.prod(spec["shape"], dtype=np.int64))
            if offset + count * dtype.itemsize > len(data):
                raise NetworkError(f"{model_dir}: the weight files end before weight {spec['name']}; the model is damaged")
            values[spec["name"]] = np.frombuffer(data, dtype, count, offset).reshape(spec["shape"])
            offset += count * dtype.itemsize
    return values


class Network:
    """P(positive) of float32 inputs, the network's own output, batch by batch."""

    def __init__(self, model):
        self.model = model
        self.input_size = model.input_shape[1]

    @classmethod
    def load(cls, model_dir):
        keras = _import_keras()
        path = os.path.join(model_dir, "model.json")
        try:
            with open(path, encoding="utf-8") as f:
                model_json = json.load(f)
            topology = model_json["modelTopology"]
            manifest = model_json["weightsManifest"]
        except (OSError, ValueError, KeyError) as error:
            raise NetworkError(f"{path} is not a TF.js layers model ({error!r})") from None
        topology = topology.get("model_config", topology)
        module_objects = {**vars(keras.layers), "Model": keras.Model, "Functional": keras.Model, "Sequential": keras.Sequential}
        try:
            model = keras.legacy.saving.deserialize_keras_object(topology, module_objects=module_objects)
        except Exception as error:
            raise NetworkError(f"Keras {keras.__version__} cannot rebuild the network in {path}: {error}") from None
        values = _read_weights(model_dir, manifest)
        missing = [v.path for v in model.weights if v.path not in values]
        extra = sorted(set(values) - {v.path for v in model.weights})
        if missing or extra:
            raise NetworkError(f"{path}: the weights do not fit the network (missing: {missing or 'none'}; unused: {extra or 'none'})")
        for variable in model.weights:
            value = values[variable.path]
            if tuple(variable.shape) != value.shape:
                raise NetworkError(f"{path}: weight {variable.path} has shape {value.shape}, the network wants {tuple(variable.shape)}")
            variable.assign(value)
        return cls(model)

    def __call__(self, inputs):
        """The network's output for (N, size, size, 3) float32 inputs, as float32 (N,)."""
        out = np.empty(len(inputs), np.float32)
        for start in range(0, len(inputs), MAX_BATCH):
            chunk = inputs[start : start + MAX_BATCH]
            padded = 1 << max(0, (len(chunk) - 1).bit_length())
            if padded != len(chunk):
                chunk = np.concatenate([chunk, np.zeros((padded - len(chunk),) + chunk.shape[1:], chunk.dtype)])
            # A TF.js functional model lists its one input, and Keras wants the inputs in that structure.
            batch = [chunk] if isinstance(self.model.input, list) else chunk
            result = np.asarray(self.model.predict_on_batch(batch), dtype=np.float32).reshape(-1)
            out[start : start + len(inputs[start : start + MAX_BATCH])] = result[: min(MAX_BATCH, len(inputs) - start)]
        return out
