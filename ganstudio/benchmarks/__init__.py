"""Benchmarks behind `python -m ganstudio bench NAME`: each module has `run(args) -> dict`."""
