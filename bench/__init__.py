"""Benchmarks of ezgraph: a seeded synthetic data generator and the scenario runner."""
