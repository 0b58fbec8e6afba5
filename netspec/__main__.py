"""`python -m netspec` runs the CLI."""

from .entry import main

main()
