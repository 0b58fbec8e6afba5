"""`python -m netspec` runs the CLI."""

from .cli import main

main()
