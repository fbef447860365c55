"""Keras on TensorFlow (CPU) training the train-speed benchmark's reference CNN, for comparison.

Run by bench/train-speed.ts when a Python with TensorFlow is at hand (KERAS_PYTHON, else python3):
the same architecture, input size, batch, optimizer and timing as the TF.js figures, printed as one
JSON object. Usage: python3 bench/keras-reference.py [--image-size 64] [--batch-size 32] [--rounds 5] [--steps 10]
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def reference_cnn(image_size: int) -> tf.keras.Model:
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        layers.Input((image_size, image_size, 3)),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    x = rng.random((args.batch_size, args.image_size, args.image_size, 3), dtype=np.float32)
    y = np.round(rng.random((args.batch_size, 1))).astype(np.float32)
    model = reference_cnn(args.image_size)
    for _ in range(3):
        model.train_on_batch(x, y)
    per_second = []
    cpu_ms_per_image = []
    for _ in range(args.rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        images = args.steps * args.batch_size
        per_second.append(images / (time.perf_counter() - wall))
        cpu_ms_per_image.append((time.process_time() - cpu) * 1000 / images)
    print(json.dumps({
        "backend": f"Keras {tf.keras.__version__ if hasattr(tf.keras, '__version__') else ''} on TensorFlow {tf.__version__} (CPU)".replace("  ", " "),
        "parameters": model.count_params(),
        "batchSize": args.batch_size,
        "trainImagesPerSecond": {"best": round(max(per_second), 1), "median": round(statistics.median(per_second), 1)},
        "cpuMsPerImage": {"best": round(min(cpu_ms_per_image), 2), "median": round(statistics.median(cpu_ms_per_image), 2)},
    }))


if __name__ == "__main__":
    main()
