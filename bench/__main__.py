import sys

from bench.cli import main

# Guarded: a suite's lanes and a real run's device workers are spawned, and a
# spawned child imports the parent's main module (as __mp_main__).
if __name__ == "__main__":
    sys.exit(main())
