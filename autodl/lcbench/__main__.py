"""python -m autodl.lcbench {sample, export}: see autodl.lcbench.cli."""
import sys

from autodl.lcbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
