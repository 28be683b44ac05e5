"""Request counts and latencies in the Prometheus text format (per server process)."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    _counts: dict[tuple[str, str, int], int] = field(default_factory=lambda: defaultdict(int))
    _buckets: dict[str, list[int]] = field(default_factory=dict)
    _sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self._counts[(route, method, status)] += 1
            counts = self._buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._sums[route] += seconds

    def render(self, gauges: dict[str, tuple[str, float, dict[str, str]]]) -> str:
        """The text exposition; ``gauges``: name -> (help, value, labels)."""
        lines = [
            "# HELP socialcredit_requests_total Requests answered, by route and status.",
            "# TYPE socialcredit_requests_total counter",
        ]
        with self._lock:
            counts = dict(self._counts)
            buckets = {route: list(c) for route, c in self._buckets.items()}
            sums = dict(self._sums)
        for (route, method, status), n in sorted(counts.items()):
            labels = f'route="{_escape(route)}",method="{method}",status="{status}"'
            lines.append(f"socialcredit_requests_total{{{labels}}} {n}")
        lines += [
            "# HELP socialcredit_request_seconds Time to answer, by route.",
            "# TYPE socialcredit_request_seconds histogram",
        ]
        for route, c in sorted(buckets.items()):
            label = f'route="{_escape(route)}"'
            for bound, n in zip((*map(str, BUCKETS), "+Inf"), c, strict=True):
                lines.append(f'socialcredit_request_seconds_bucket{{{label},le="{bound}"}} {n}')
            lines.append(f"socialcredit_request_seconds_sum{{{label}}} {sums[route]:.6f}")
            lines.append(f"socialcredit_request_seconds_count{{{label}}} {c[-1]}")
        for name, (help_text, value, tags) in sorted(gauges.items()):
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in tags.items())
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            lines.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
