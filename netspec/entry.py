"""The `netspec` command's entry point (and `python -m netspec`'s).

`netspec check` on specs whose schema is valid is answered by the fast path (fastpath.py), which
imports neither click nor pydantic; everything else, schema errors included, goes to the click
command line in cli.py, exactly as before.
"""

from __future__ import annotations

import sys
from typing import NoReturn


def main() -> NoReturn:
    argv = sys.argv[1:]
    if argv[:1] == ["check"]:
        from .fastpath import run_check

        code = run_check(argv[1:])
        if code is not None:
            raise SystemExit(code)
    from .cli import main as cli_main

    cli_main()
