"""Write digits16.npz: scikit-learn's 8x8 digits at 16x16, each its own target, for specs/autoencoder.yaml."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

# x: (1797, 1, 16, 16) float32 in [0, 1] (each pixel doubled); y = x: an autoencoder learns to give back its input
images = load_digits().images.astype(np.float32) / 16.0
x = np.kron(images, np.ones((2, 2), dtype=np.float32))[:, None]
out = Path(sys.argv[1] if len(sys.argv) > 1 else "digits16.npz")
np.savez_compressed(out, x=x, y=x)
print(f"wrote {out}: x {x.shape} {x.dtype}, y = x")
