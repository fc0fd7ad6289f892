"""Errors the user can act on.

Every error the tool raises on purpose derives from :class:`PluginBuilderError`. The
front ends (invoke tasks, nox sessions) catch it, print its one-line message, point at
the troubleshooting page and exit with its ``return_code``; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import textwrap


class PluginBuilderError(Exception):
    """A failure with a message a person can act on; never shown with a traceback."""

    return_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message}\n  fix: {self.fix}"
        return self.message


class ConfigError(PluginBuilderError):
    """buildconfig.toml is wrong; nothing was built."""

    return_code = 2

    def __init__(self, file: str, key: str | None, problem: str, *, fix: str | None = None) -> None:
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}", fix=fix)
        self.file = file
        self.key = key


class UsageError(PluginBuilderError):
    """A command-line flag names something that does not exist."""

    return_code = 2


class ToolchainError(PluginBuilderError):
    """A Go toolchain or C compiler the build needs is missing or broken."""

    return_code = 2


class BuildError(PluginBuilderError):
    """A build command failed; its output is part of the message."""

    return_code = 1

    def __init__(self, what: str, output: str, *, fix: str | None = None) -> None:
        tail = textwrap.indent(output.strip()[-4000:], "    ")
        super().__init__(f"{what} failed:\n{tail}", fix=fix)


class VerifyError(PluginBuilderError):
    """verify found at least one plugin that would not load."""

    return_code = 1


class PipelineError(PluginBuilderError):
    """At least one combination of a pipeline run failed; the others ran to the end."""

    return_code = 1
