"""Training a spec: the `train:` section (torch-free), datasets, the loop, run directories and DDP.

Only `config` and `transforms` are imported by the spec schema; the modules that need torch
are imported by `netspec.train` and the CLI commands when they run.
"""
