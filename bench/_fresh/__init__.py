"""Recipe modules and writers of `bench/fresh_runs.py` (see its docstring)."""
