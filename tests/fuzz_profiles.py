"""Hypothesis profiles and case counting for the reliability fuzz tests (issue 7).

Profiles (select with the environment variable ``FASTGRAD_FUZZ_PROFILE``):

* ``ci`` (default): a few dozen examples per parametrised property, sized so that
  ``tests/test_fuzz.py`` finishes in a couple of minutes on two cores;
* ``long``: ``FASTGRAD_FUZZ_PROFILE=long python -m pytest tests/test_fuzz.py`` —
  hundreds of examples per property, well over 10,000 cases in total (the session
  summary prints the count and the test module asserts the floor).

The profiles are registered under private names (``fastgrad-ci``/``fastgrad-long``)
and applied with ``@settings(parent=...)`` per test, so they never change the
hypothesis settings of other test modules.
"""

from __future__ import annotations

import collections
import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("FASTGRAD_FUZZ_PROFILE", "ci").strip().lower() or "ci"
if PROFILE not in ("ci", "long"):
    raise ValueError(f"FASTGRAD_FUZZ_PROFILE must be 'ci' or 'long', got {PROFILE!r}")

_COMMON = dict(
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
settings.register_profile("fastgrad-ci", max_examples=30, **_COMMON)
settings.register_profile("fastgrad-long", max_examples=300, **_COMMON)

#: settings object every fuzz test derives from
BASE = settings.get_profile(f"fastgrad-{PROFILE}")
#: examples per property under the active profile
EXAMPLES = BASE.max_examples
#: the floor on the total number of cases a full run of the fuzz module must reach
MIN_TOTAL = {"ci": 1000, "long": 10000}[PROFILE]
#: calls made by the crash-detecting child process ("monkey" fuzz)
MONKEY_CALLS = {"ci": 4000, "long": 40000}[PROFILE]


class Counter:
    """Counts fuzz cases per category (forward, backward, error, special, ...)."""

    def __init__(self) -> None:
        self.by_kind: collections.Counter = collections.Counter()
        self.by_op: collections.Counter = collections.Counter()

    def hit(self, kind: str, op: str = "", n: int = 1) -> None:
        self.by_kind[kind] += n
        if op:
            self.by_op[op] += n

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.by_kind.items()))
        return f"fastgrad fuzz [{PROFILE}]: {self.total} cases ({kinds}); {len(self.by_op)} ops exercised"


COUNTER = Counter()
