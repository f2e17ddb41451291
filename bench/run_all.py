"""Run every ``bench/bench_*.py`` in turn; ``--quick`` is passed on to each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    """Run the benchmarks; the exit code counts the ones that failed to run."""
    failed = 0
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"-- {script.name}", flush=True)
        failed += subprocess.run([sys.executable, str(script), *sys.argv[1:]]).returncode != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
