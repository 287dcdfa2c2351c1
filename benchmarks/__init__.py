"""Benchmarks of dlcourse (see benchmark.py); not part of the installed package."""
