"""What the numbers were measured on: CPU model, cores, Python and torch versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict[str, Any]:
    # torch's version from a child process: importing torch here would slow every later measurement
    torch_version = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.__version__, torch.cuda.is_available())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch_version[0],
        "cuda": torch_version[1] == "True",
        "platform": platform.platform(),
    }
