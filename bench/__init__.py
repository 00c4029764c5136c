"""Cashroom's benchmarks: each figure beside the limit of the part it runs on, measured in the
same run on the same machine, and their ratio. ``make bench`` (``python -m bench``) runs them."""
