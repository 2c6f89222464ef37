"""`python server.py` serves the built graph at http://127.0.0.1:5000 (built first if needed)."""

import sys

from ezgraph.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
