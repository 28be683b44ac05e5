"""``make bench``: run every benchmark; exit 1 if a target is missed."""

from __future__ import annotations

import os
import platform
import sys

from benchmarks import api, generator, identity, ingest, ranking, scoring, spark


def main() -> int:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    results = [
        identity.main(),
        generator.main(),
        ingest.main(),
        scoring.main(),
        ranking.main(),
        spark.main(),
        api.main(),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
