"""Write two tiny streams of your own tasks, to try ``--stream files`` without any code.

    python examples/make_own_data.py own-data
    lifelong run --stream files --stream.root own-data/csv --scenario class --method ewc --model mlp-64 \
        --train.batch_size 16
    lifelong run --stream files --stream.root own-data/images --scenario task --method ewc --model cnn-16-32 \
        --train.batch_size 16

``own-data/csv`` holds three task folders, each with ``train.csv`` and ``test.csv``: eight numeric
feature columns and a ``label`` column naming one of the task's two classes (six classes in all).
``own-data/images`` holds three task folders of 16x16 grayscale PNGs in ``train/<class>/`` and
``test/<class>/``: stripes, diagonals, squares and crosses drawn with noise. Both are synthetic and
seeded, so the same files come out everywhere.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image

CSV_TASKS = {"t1-ab": ("a", "b"), "t2-cd": ("c", "d"), "t3-ef": ("e", "f")}
IMAGE_TASKS = {"t1-lines": ("horizontal", "vertical"), "t2-diagonals": ("diagonal", "antidiagonal"),
               "t3-shapes": ("square", "cross")}
SIDE = 16


def write_csv_stream(root: Path, rng: np.random.Generator, per_class: dict[str, int]) -> None:
    """Each class is a Gaussian blob around its own random centre in eight dimensions."""
    columns = [f"f{i}" for i in range(1, 9)]
    for task, classes in CSV_TASKS.items():
        centres = {c: rng.normal(0, 2, len(columns)) for c in classes}
        for split, n in per_class.items():
            (root / task).mkdir(parents=True, exist_ok=True)
            with open(root / task / f"{split}.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow([*columns, "label"])
                for c in classes:
                    for row in rng.normal(centres[c], 1.0, (n, len(columns))):
                        writer.writerow([f"{v:.4f}" for v in row] + [c])


def pattern(name: str, rng: np.random.Generator) -> np.ndarray:
    """One noisy 16x16 drawing of the class ``name``, at a random position."""
    image = rng.normal(30, 20, (SIDE, SIDE))
    k = int(rng.integers(3, SIDE - 3))
    idx = np.arange(SIDE)
    if name == "horizontal":
        image[k - 1:k + 1, :] = 220
    elif name == "vertical":
        image[:, k - 1:k + 1] = 220
    elif name == "diagonal":
        image[idx, idx] = 220
    elif name == "antidiagonal":
        image[idx, SIDE - 1 - idx] = 220
    elif name == "square":
        image[k - 3:k + 3, k - 3:k + 3] = 220
    else:  # cross
        image[k - 1:k + 1, :] = 220
        image[:, k - 1:k + 1] = 220
    return np.clip(image, 0, 255).astype(np.uint8)


def write_image_stream(root: Path, rng: np.random.Generator, per_class: dict[str, int]) -> None:
    for task, classes in IMAGE_TASKS.items():
        for split, n in per_class.items():
            for c in classes:
                folder = root / task / split / c
                folder.mkdir(parents=True, exist_ok=True)
                for i in range(n):
                    Image.fromarray(pattern(c, rng), mode="L").save(folder / f"{i:03d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write csv/ and images/ into")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    write_csv_stream(args.out / "csv", rng, {"train": 200, "test": 50})
    write_image_stream(args.out / "images", rng, {"train": 60, "test": 20})
    print(f"wrote {args.out / 'csv'} (3 CSV tasks) and {args.out / 'images'} (3 image-folder tasks)")


if __name__ == "__main__":
    main()
