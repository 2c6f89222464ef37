"""ezgraph: a linked-data publisher for China's national economic and technological
development zones."""

__version__ = "0.1.0"
