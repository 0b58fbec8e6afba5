"""One module per CLI command; `netspec/cli.py` registers them. None imports torch at import time."""
