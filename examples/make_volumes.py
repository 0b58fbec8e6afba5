"""Write volumes.npz: 3-D scans with a bright blob in one of four quadrants, for specs/c3d-small.yaml."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# x: (N, 1, 16, 16, 16) float32 volumes of noise; y: the quadrant (of H x W) that holds a 4x4x4 blob, 0 to 3
N, SIZE, BLOB = 256, 16, 4
rng = np.random.default_rng(0)
x = rng.normal(0.0, 1.0, size=(N, 1, SIZE, SIZE, SIZE)).astype(np.float32)
y = rng.integers(0, 4, size=N).astype(np.int64)
for i, quadrant in enumerate(y):
    d = rng.integers(0, SIZE - BLOB + 1)  # anywhere in depth
    h = (quadrant // 2) * (SIZE // 2) + rng.integers(0, SIZE // 2 - BLOB + 1)
    w = (quadrant % 2) * (SIZE // 2) + rng.integers(0, SIZE // 2 - BLOB + 1)
    x[i, 0, d : d + BLOB, h : h + BLOB, w : w + BLOB] += 2.0

out = Path(sys.argv[1] if len(sys.argv) > 1 else "volumes.npz")
np.savez_compressed(out, x=x, y=y)
print(f"wrote {out}: x {x.shape} {x.dtype}, y {y.shape} {y.dtype} with classes {sorted(set(y.tolist()))}")
