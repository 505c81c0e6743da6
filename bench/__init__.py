"""Benchmarks of the BFF: scripts, not tests (``python -m bench.run --help``).

Every benchmark starts its own processes on 127.0.0.1 (a ``redis-server``, the provider
sandboxes, one or more ``bff serve``), drives a load bounded in count and in time, and
reports figures side by side with their floor in the same run.
"""
