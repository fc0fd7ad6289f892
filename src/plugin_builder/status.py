"""The statuses the tool reports, one vocabulary per concept.

They are StrEnums, so they print, compare and serialise to JSON as the plain strings
the reports have always used ("pass", "error", "ok", "passed"), while the code can only
name values that exist.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """verify's conclusion for one plugin and its host."""

    PASS = "pass"
    WARN = "warn"  # it loads, but something differs that may bite later
    FAIL = "fail"


class Severity(StrEnum):
    """How much one finding of verify matters."""

    ERROR = "error"  # the host refuses the plugin or dies
    WARNING = "warning"  # the host loads it; the difference is worth knowing


class LiveStatus(StrEnum):
    """How a live load (a check command in a child process) ended."""

    OK = "ok"
    REFUSED = "refused"
    CRASHED = "crashed"
    TIMED_OUT = "timed_out"
    # Ended without the completion signal a stand-in loader prints after every check
    # (a plugin's init that exits the process): whatever its exit code, nothing passed.
    INCOMPLETE = "incomplete"


class StepStatus(StrEnum):
    """How one step of a pipeline run, and the run as a whole, ended."""

    PASSED = "passed"
    FAILED = "failed"


class CheckStatus(StrEnum):
    """One line of `invoke doctor`."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
