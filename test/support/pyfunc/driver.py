"""What the tests ask of the python_function loader, one command per call, JSON in on stdin and out on stdout.

  driver.py network    {"models": [{"dir", "inputs": [floats], "shape"}]}   -> {"outputs": [[P, ...], ...]}
  driver.py decode     {"images": [{"png": b64, "size"}]}                   -> {"rgb": [b64, ...]}
  driver.py classify   {"model": dir, "cases": [{"images", "params"}]}      -> {"results": [records or {"error"}]}
  driver.py pyfunc     {"uri": model URI, "pngs": [b64, ...]}                -> {"records": [...], "backend": ...}
  driver.py download   {"uri": artifact URI, "dest": folder}                 -> {"path": local path}

`network`, `decode` and `classify` import the loader from the trainer's sources (as a model's
code/ folder holds it); `pyfunc` and `download` go through MLflow, as a user would.
"""

import base64
import json
import os
import sys

import numpy as np

SOURCES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "trainer", "src", "tracking", "mlflow", "pyfunc")


def _loader():
    sys.path.insert(0, os.path.abspath(SOURCES))
    import malaria_mlops_pyfunc

    return malaria_mlops_pyfunc


def network(job):
    from malaria_mlops_pyfunc.network import Network

    outputs = []
    for model in job["models"]:
        net = Network.load(model["dir"])
        inputs = np.asarray(model["inputs"], np.float32).reshape(model["shape"])
        outputs.append(net(inputs).tolist())
    return {"outputs": outputs}


def decode(job):
    from malaria_mlops_pyfunc.images import decode_rgba, to_model_input

    rgb = []
    for image in job["images"]:
        rgba = decode_rgba(base64.b64decode(image["png"]), "image")
        rgb.append(base64.b64encode(to_model_input(rgba, image["size"]).tobytes()).decode())
    return {"rgb": rgb}


def _item(value):
    """A JSON image: {"png": b64} as the file's bytes, {"text": ...} as given (base64 text), lists as pixel arrays."""
    if isinstance(value, dict) and "png" in value:
        return base64.b64decode(value["png"])
    if isinstance(value, dict) and "text" in value:
        return value["text"]
    return value


def classify(job):
    loader = _loader()
    classifier = loader._load_pyfunc(job["model"])
    results = []
    for case in job["cases"]:
        try:
            frame = classifier.predict([_item(image) for image in case["images"]], params=case.get("params"))
            results.append(json.loads(frame.to_json(orient="records", double_precision=15)))
        except Exception as error:  # the message is what the test looks at
            results.append({"error": type(error).__name__, "message": str(error)})
    return {"results": results}


def pyfunc(job):
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(job["uri"])
    # Only now: the loader chooses Keras' backend before Keras is first imported.
    import keras

    pngs = [base64.b64decode(png) for png in job["pngs"]]
    frame = model.predict(pngs)
    return {"records": json.loads(frame.to_json(orient="records", double_precision=15)), "backend": keras.backend.backend()}


def download(job):
    import mlflow.artifacts

    return {"path": mlflow.artifacts.download_artifacts(artifact_uri=job["uri"], dst_path=job["dest"])}


def main():
    command = sys.argv[1]
    if command in ("network", "decode"):
        _loader()
    job = json.loads(sys.stdin.read() or "{}")
    result = {"network": network, "decode": decode, "classify": classify, "pyfunc": pyfunc, "download": download}[command](job)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
