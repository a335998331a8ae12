"""With ``CI=true`` nothing skips: a pytest plugin (loaded by tests/conftest.py) that
turns every skipped test into a failure that names the skip's reason.

Locally a test may skip for something the machine lacks (PostgreSQL, the curl
binary, ../shared/data/openapi, a browser), saying why; CI installs all of it, so a
skip there is a silent hole in the suite. The helpers that already fail under CI
(pgutil, scale_support, e2e's ``_missing``) keep their own messages; this catches
every other ``skipif`` marker, ``pytest.skip`` and ``importorskip``. Expected
failures (``xfail``) are not skips and are left alone.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["ci_forbids_skips", "pytest_runtest_makereport"]


def ci_forbids_skips() -> bool:
    """True when the suite runs under CI (``CI=true``), where no test may skip."""
    return os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Report a skip as a failure under CI, keeping its reason."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and ci_forbids_skips():
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} would skip ({reason}), and with CI=true nothing may skip"
