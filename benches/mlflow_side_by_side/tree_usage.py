"""Prints the resident memory (MiB) and CPU seconds used so far by a process
and all its descendants: `python tree_usage.py PID`.

MLflow's gateway is a gunicorn master with uvicorn workers, so its cost is
the sum over the tree; towergate is one process.
"""

import sys

import psutil


def main() -> int:
    root = psutil.Process(int(sys.argv[1]))
    rss = 0
    cpu = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            with process.oneshot():
                rss += process.memory_info().rss
                times = process.cpu_times()
                cpu += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    print(f"{rss / (1024 * 1024):.1f} {cpu:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
