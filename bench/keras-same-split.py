"""Trains one of the trainer's CNNs in Keras 3 (TensorFlow CPU) on a trainer run's exact split and recipe.

Tells a weak network from a weak trainer: same architecture (layer for layer, same parameter count),
same train/validation/test files (the run's split.json), same recipe (the run's params.json: Adam,
binary cross-entropy with its label smoothing, batch size, epochs, learning rate and schedule
(constant, cosine to 0 step by step, plateau), augmentation (square symmetries all|flips, brightness
1 +/- b clipped at 1), early-stopping patience, best epoch by validation loss restored). If Keras
scores about what the trainer scored, the network is the limit; if it scores much better, the trainer is.

Usage:
  python bench/keras-same-split.py --run <run folder> --data <zip or folder> [--epochs N] [--tta] [--out file.json]

--run is the folder of one run (holding params.json and split.json) or an --out folder holding exactly
one. Images are decoded to RGB (alpha over black), resized to the run's image size with bilinear
filtering, scaled to [0, 1]. --tta scores the test set with the mean of the 8 flips/rotations, as the
trainer does. Prints the parameter count, a line per epoch, and a final JSON line with the test figures.
Needs numpy, pillow, scikit-learn, keras 3 and tensorflow(-cpu).
"""
import argparse
import io
import json
import math
import os
import sys
import time
import zipfile

KNOWN_MODELS = [f"cnn-{n}" for n in range(1, 5)] + [f"cnn-{n}-gap" for n in range(1, 5)]
CLASS_NAMES = ("Uninfected", "Parasitized")  # label 0, 1: the model outputs P(Parasitized)


class UserError(Exception):
    """A problem with the command line or its inputs: printed as one line, no traceback."""


# --------------------------------------------------------------------------------------------- run

def find_run_folder(path):
    if not os.path.isdir(path):
        raise UserError(f"--run {path}: no such folder")
    if os.path.isfile(os.path.join(path, "params.json")):
        return path
    runs = sorted(d for d in os.listdir(path) if os.path.isfile(os.path.join(path, d, "params.json")))
    if len(runs) == 1:
        return os.path.join(path, runs[0])
    if not runs:
        raise UserError(f"--run {path}: no params.json there or in a folder inside it; give the folder of one trainer run")
    raise UserError(f"--run {path} holds {len(runs)} runs ({', '.join(runs[:5])}{', ...' if len(runs) > 5 else ''}); give one of them")


def read_json(path, what):
    if not os.path.isfile(path):
        raise UserError(f"{path}: missing; the run folder needs the {what} the trainer writes")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: cannot read it as JSON ({err})") from None


def read_run(folder):
    params = read_json(os.path.join(folder, "params.json"), "params.json")
    split = read_json(os.path.join(folder, "split.json"), "split.json")
    model = params.get("model")
    if model not in KNOWN_MODELS:
        raise UserError(f"{folder}: the run trained model {model!r}, which this script does not build; it knows {', '.join(KNOWN_MODELS)}")
    for part in ("train", "validation", "test"):
        if not isinstance(split.get(part), list):
            raise UserError(f"{folder}/split.json has no '{part}' file list")
    return params, split


def label_of(file):
    top = file.split("/")[0].lower()
    if top == "parasitized":
        return 1
    if top == "uninfected":
        return 0
    raise UserError(f"split.json names {file}, which is in neither Parasitized/ nor Uninfected/")


# -------------------------------------------------------------------------------------------- data

def dataset_root(dirs):
    """The shallowest folder holding Parasitized/ or Uninfected/ (any case), as the trainer finds it."""
    roots = set()
    for d in dirs:
        base = d.rsplit("/", 1)[-1].lower()
        if base in ("parasitized", "uninfected"):
            roots.add(d.rsplit("/", 1)[0] if "/" in d else "")
    if not roots:
        return None
    return min(roots, key=lambda r: (0 if r == "" else r.count("/") + 1, r))


def parent_dirs(files):
    dirs = set()
    for f in files:
        parts = f.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return dirs


class DataSource:
    """Reads files, named relative to the data set root, from a zip or folder."""

    def __init__(self, path):
        self.path = path
        if os.path.isdir(path):
            self.zip = None
            files = []
            for top, _, names in os.walk(path):
                rel = os.path.relpath(top, path).replace(os.sep, "/")
                files += [n if rel == "." else f"{rel}/{n}" for n in names]
        elif os.path.isfile(path):
            try:
                self.zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                raise UserError(f"--data {path}: not a zip file (give the data set's zip or folder)") from None
            files = [n for n in self.zip.namelist() if not n.endswith("/")]
        else:
            raise UserError(f"--data {path}: no such file or folder")
        root = dataset_root(parent_dirs(files))
        if root is None:
            raise UserError(f"--data {path} holds no Parasitized/ or Uninfected/ folder")
        self.root = root
        prefix = f"{root}/" if root else ""
        self.locations = {f[len(prefix):]: f for f in files if f.startswith(prefix)}

    def read(self, file):
        location = self.locations[file]
        if self.zip is not None:
            return self.zip.read(location)
        with open(os.path.join(self.path, location), "rb") as f:
            return f.read()


def decode(data, size, file):
    """RGB uint8 size x size: bilinear resize (averaging when shrinking), alpha composited over black."""
    import numpy as np
    from PIL import Image
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as err:  # noqa: BLE001 - any decoder failure is a bad file
        raise UserError(f"{file}: cannot decode ({err})") from None
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = Image.fromarray((np.asarray(image, dtype=np.uint32) >> 8).astype(np.uint8))  # top 8 bits
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB").resize((size, size), Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.uint8)
    if has_alpha:
        alpha = pixels[..., 3:4].astype(np.uint32)
        pixels = ((pixels[..., :3].astype(np.uint32) * alpha + 127) // 255).astype(np.uint8)
    return pixels


def check_split_files(source, split):
    for part in ("train", "validation", "test"):
        files = split[part]
        missing = [f for f in files if f not in source.locations]
        if missing:
            raise UserError(
                f"--data {source.path} lacks {len(missing)} of the split's {len(files)} {part} files "
                f"(e.g. {', '.join(missing[:3])}); give the data set the run was trained on")


def load_split_images(source, files, size):
    import numpy as np
    x = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for i, f in enumerate(files):
        x[i] = decode(source.read(f), size, f)
    y = np.array([label_of(f) for f in files], dtype=np.float32)
    return x, y


# ------------------------------------------------------------------------------------------ models

def build_model(name, size, seed):
    """The trainer's networks, layer for layer (trainer/src/models/original-study.ts and pooled-cnn.ts)."""
    import keras
    from keras import layers
    counter = [0]

    def seeded(kind):
        counter[0] += 1
        init = keras.initializers.GlorotUniform if kind == "glorot" else keras.initializers.HeUniform
        return init(seed=seed * 1000 + counter[0])

    inputs = keras.Input((size, size, 3), name="image")
    x = inputs
    parts = name.split("-")
    blocks = int(parts[1])
    if len(parts) == 2:
        # original-study.ts: Glorot kernels, dropout 0.5 per block, Dense(128) per position, BN (Keras defaults).
        for i in range(blocks):
            x = layers.Conv2D(64 * 2 ** i, 3, padding="same", activation="relu", kernel_initializer=seeded("glorot"), name=f"conv{i + 1}")(x)
            x = layers.MaxPooling2D(2, strides=2, name=f"pool{i + 1}")(x)
            x = layers.Dropout(0.5, name=f"dropout{i + 1}")(x)
        x = layers.Dense(128, activation="relu", kernel_initializer=seeded("glorot"), name="dense1")(x)
        x = layers.Dropout(0.2, name="dense1_dropout")(x)
        x = layers.BatchNormalization(momentum=0.99, epsilon=1e-3, name="dense1_bn")(x)
        x = layers.Flatten(name="flatten")(x)
    else:
        # pooled-cnn.ts: He kernels, dropout 0.25 per block, global average pool, Dense(128), dropout 0.5.
        for i in range(blocks):
            x = layers.Conv2D(64 * 2 ** i, 3, padding="same", activation="relu", kernel_initializer=seeded("he"), name=f"conv{i + 1}")(x)
            x = layers.MaxPooling2D(2, strides=2, name=f"pool{i + 1}")(x)
            x = layers.Dropout(0.25, name=f"dropout{i + 1}")(x)
        x = layers.GlobalAveragePooling2D(name="global_avg")(x)
        x = layers.Dense(128, activation="relu", kernel_initializer=seeded("he"), name="head_dense")(x)
        x = layers.Dropout(0.5, name="head_dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", kernel_initializer=seeded("glorot"), name="probability")(x)
    return keras.Model(inputs, outputs, name=name)


# ---------------------------------------------------------------------------------------- training

def symmetries(x, which):
    """The views of a batch (N, H, W, C) under the square's symmetries: 8 ('all') or the 4 flips reach."""
    import numpy as np
    views = [x, np.rot90(x, 1, (1, 2)), np.rot90(x, 2, (1, 2)), np.rot90(x, 3, (1, 2)),
             x[:, :, ::-1], x[:, ::-1, :], np.swapaxes(x, 1, 2), np.rot90(np.swapaxes(x, 1, 2), 2, (1, 2))]
    return views if which == "all" else [views[i] for i in (0, 2, 4, 5)]


def augment_batch(x, rng, which, brightness):
    """Each image under a random symmetry, brightness times U[1 - b, 1 + b], clipped at 1 (as the trainer's fillBatch)."""
    import numpy as np
    out = np.empty_like(x)
    count = 8 if which == "all" else 4
    picks = rng.integers(0, count, len(x))
    for k in range(count):
        chosen = picks == k
        if chosen.any():
            out[chosen] = symmetries(x[chosen], which)[k]
    if brightness:
        factors = 1 + (rng.random(len(x)) * 2 - 1) * brightness
        out = np.minimum(1.0, out * factors[:, None, None, None].astype(np.float32))
    return out


def learning_rate_at(schedule, base, epoch, epochs, step, steps, val_losses, patience, factor):
    """The trainer's learning-rate.ts: constant, cosine to 0 step by step, or plateau on validation loss."""
    if schedule == "cosine":
        done = ((epoch - 1) * steps + step) / (epochs * steps)
        return base * 0.5 * (1 + math.cos(math.pi * min(1, done)))
    if schedule == "plateau":
        rate, best, waited = base, math.inf, 0
        for loss in val_losses:
            if loss < best:
                best, waited = loss, 0
            else:
                waited += 1
                if waited >= patience:
                    rate, waited = max(base * 1e-3, rate * factor), 0
        return rate
    return base


def predict(model, x_uint8, batch_size, tta):
    import numpy as np
    out = np.zeros(len(x_uint8), dtype=np.float64)
    for start in range(0, len(x_uint8), batch_size):
        x = x_uint8[start:start + batch_size].astype(np.float32) / 255
        views = symmetries(x, "all") if tta else [x]
        for view in views:
            out[start:start + len(x)] += model.predict_on_batch(np.ascontiguousarray(view)).reshape(-1) / len(views)
    return out


def bce(y, p):
    import numpy as np
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a trainer run's folder (params.json, split.json)")
    parser.add_argument("--data", required=True, help="the data set (zip or folder) the run used")
    parser.add_argument("--epochs", type=int, help="train this many epochs instead of the run's")
    parser.add_argument("--tta", action="store_true", help="score test with the mean of the 8 flips/rotations")
    parser.add_argument("--out", help="also write the final JSON here")
    args = parser.parse_args()
    if args.epochs is not None and args.epochs < 1:
        raise UserError("--epochs must be at least 1")

    folder = find_run_folder(args.run)
    params, split = read_run(folder)
    size = int(params["imageSize"])
    batch_size = int(params["batchSize"])
    epochs = args.epochs or int(params["epochs"])
    base_rate = float(params["learningRate"])
    schedule = params.get("lrSchedule", "constant")
    if schedule not in ("constant", "cosine", "plateau"):
        raise UserError(f"{folder}/params.json: unknown lrSchedule {schedule!r} (constant, cosine or plateau)")
    augment = bool(params.get("augment", False))
    which = params.get("augmentSymmetries", "all")
    if which not in ("all", "flips"):
        raise UserError(f"{folder}/params.json: unknown augmentSymmetries {which!r} (all or flips)")
    brightness = float(params.get("augmentBrightness", 0.1))
    smoothing = float(params.get("labelSmoothing", 0) or 0)
    patience = int(params.get("patience", 0) or 0)
    validate_tta = bool(params.get("tta")) and bool(params.get("validateWithTta"))
    seed = int(params.get("seed", 42))

    source = DataSource(args.data)
    check_split_files(source, split)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        import numpy as np
        import keras
        import tensorflow as tf
        from sklearn.metrics import roc_auc_score
    except ImportError as err:
        raise UserError(f"{err.name} is not installed: this script needs numpy, pillow, scikit-learn, keras 3 and tensorflow(-cpu)") from None

    started = time.perf_counter()
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
        load_split_images(source, split[part], size) for part in ("train", "validation", "test"))
    print(f"images: {len(y_train)} train, {len(y_val)} validation, {len(y_test)} test at {size} px "
          f"({time.perf_counter() - started:.1f} s to decode)", flush=True)

    keras.utils.set_random_seed(seed)
    model = build_model(params["model"], size, seed)
    parameters = model.count_params()
    trainer_count = params.get("param_count")
    match = "" if trainer_count is None else (
        f" (the trainer's: {trainer_count:,}, {'same' if trainer_count == parameters else 'DIFFERENT'})")
    print(f"model {params['model']}: {parameters:,} parameters{match}", flush=True)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=base_rate, epsilon=1e-7),
                  loss=keras.losses.BinaryCrossentropy(label_smoothing=smoothing), metrics=["accuracy"])
    print(f"recipe: {epochs} epoch{'s' if epochs > 1 else ''}, batch {batch_size}, Adam {base_rate:g} {schedule}, "
          f"augment {'%s, brightness +/-%g' % (which, brightness) if augment else 'off'}, label smoothing {smoothing:g}, "
          f"patience {patience or 'none'}{', validation with TTA' if validate_tta else ''}", flush=True)

    rng = np.random.default_rng(seed)
    n = len(y_train)
    steps = math.ceil(n / batch_size)
    best = None  # (epoch, val_loss, weights)
    val_losses = []
    steps_trained = 0
    for epoch in range(1, epochs + 1):
        epoch_started = time.perf_counter()
        order = rng.permutation(n)
        loss_sum = correct_sum = 0.0
        for step in range(steps):
            rate = learning_rate_at(schedule, base_rate, epoch, epochs, step, steps, val_losses,
                                    int(params.get("lrPatience", 1)), float(params.get("lrFactor", 0.5)))
            model.optimizer.learning_rate.assign(rate)
            index = order[step * batch_size:(step + 1) * batch_size]
            x = x_train[index].astype(np.float32) / 255
            if augment:
                x = augment_batch(x, rng, which, brightness)
            loss, accuracy = model.train_on_batch(x, y_train[index][:, None], return_dict=False)
            loss_sum += float(loss) * len(index)
            correct_sum += float(accuracy) * len(index)
            steps_trained += 1
        probabilities = predict(model, x_val, batch_size, validate_tta)
        val_loss = bce(y_val, probabilities)
        val_accuracy = float(np.mean((probabilities >= 0.5) == (y_val == 1)))
        val_losses.append(val_loss)
        improved = best is None or val_loss < best[1]
        if improved:
            best = (epoch, val_loss, model.get_weights())
        print(f"epoch {epoch}/{epochs}  loss {loss_sum / n:.4f}  acc {correct_sum / n:.4f}  val_loss {val_loss:.4f}  "
              f"val_acc {val_accuracy:.4f}  {time.perf_counter() - epoch_started:.1f} s{'  *best' if improved else ''}", flush=True)
        if patience > 0 and epoch - best[0] >= patience:
            print(f"early stop: no better validation loss for {patience} epochs", flush=True)
            break
    model.set_weights(best[2])

    probabilities = predict(model, x_test, batch_size, args.tta)
    predicted = probabilities >= 0.5
    result = {
        "run": os.path.abspath(folder),
        "model": params["model"],
        "parameters": parameters,
        "trainerParameters": trainer_count,
        "imageSize": size,
        "epochs": epochs,
        "bestEpoch": best[0],
        "bestValLoss": round(best[1], 6),
        "stepsTrained": steps_trained,
        "testImages": int(len(y_test)),
        "testTta": args.tta,
        "testAccuracy": round(float(np.mean(predicted == (y_test == 1))), 6),
        "testAuc": round(float(roc_auc_score(y_test, probabilities)), 6) if len(set(y_test.tolist())) == 2 else None,
        "seconds": round(time.perf_counter() - started, 1),
        "backend": f"Keras {keras.__version__} on TensorFlow {tf.__version__} (CPU)",
    }
    line = json.dumps(result)
    print(line, flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    try:
        main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
