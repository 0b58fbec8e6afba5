"""Write small generated `tensors` files for the sequence specs: token ids for text-lstm, waveforms for m5-audio."""

# python examples/make_sequence_data.py            # data/text-tokens.npz and data/audio.npz
# netspec train specs/text-lstm.yaml
# netspec train specs/m5-audio.yaml
#
# Nothing is downloaded: each class has a pattern a model can learn. A text of class c uses the
# ids c·100+1 to c·100+100 more often than the rest of the vocabulary, padded with id 0 in front; a
# clip of class k is a tone at 100 + 60·k Hz with a random phase, in noise.

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

VOCABULARY, LENGTH, TOPICS = 2000, 64, 4  # specs/text-lstm.yaml: input {shape: [64], tokens: 2000}, 4 classes
RATE, CLASSES = 8000, 35  # specs/m5-audio.yaml: input [1, 8000], 35 classes


def texts(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, 64) int64 token ids below 2,000, and (n,) labels.

    Short texts are padded with id 0 in front, so that the LSTM's last step, which the classifier reads, is text.
    """
    y = rng.integers(0, TOPICS, n)
    x = np.zeros((n, LENGTH), dtype=np.int64)
    for i, topic in enumerate(y):
        length = int(rng.integers(LENGTH // 4, LENGTH + 1))
        common = rng.integers(1, VOCABULARY, length)  # any word
        keyword = rng.integers(topic * 100 + 1, topic * 100 + 101, length)  # the topic's own words
        x[i, LENGTH - length :] = np.where(rng.random(length) < 0.3, keyword, common)  # padded in front
    return x, y


def clips(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1, 8000) float32 one-second waveforms, and (n,) labels: every class about equally often."""
    y = np.arange(n) % CLASSES
    t = np.arange(RATE) / RATE
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    tone = np.sin(2 * np.pi * (100 + 60 * y[:, None]) * t + phase)
    x = (tone + 0.3 * rng.standard_normal((n, RATE))).astype(np.float32)
    return x[:, None, :], y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data"), help="the folder to write (default: data)")
    parser.add_argument("--texts", type=int, default=2000, help="how many texts (default: 2000)")
    parser.add_argument("--clips", type=int, default=700, help="how many audio clips (default: 700)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (x, y) in (("text-tokens", texts(args.texts, rng)), ("audio", clips(args.clips, rng))):
        path = args.out / f"{name}.npz"
        np.savez(path, x=x, y=y)
        print(f"wrote {path}: x {x.shape} {x.dtype}, y {y.shape} ({len(np.unique(y))} classes)")


if __name__ == "__main__":
    main()
