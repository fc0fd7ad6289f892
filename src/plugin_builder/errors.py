"""Every error the user can act on, in one place.

Each class is one kind of failure with its own exit code and its own section of
docs/troubleshooting.md (the anchor is the class name in kebab case, see
:func:`plugin_builder.catalogue.code`). The front ends catch :class:`PluginBuilderError`,
print the message with its ``fix:`` line and ``see:`` pointer, and exit with
``return_code``; anything else is a bug and keeps its traceback.

Exit codes (stable; scripts and CI may branch on them):

====  =====================  ==============================================
code  class                  meaning
====  =====================  ==============================================
1     PluginBuilderError     only as a base class; never raised bare
2     UsageError             a command-line flag names nothing that exists
3     ConfigError            buildconfig.toml is wrong
4     BinaryError            a binary given to inspect cannot be read
5     ToolchainError         a Go toolchain or C compiler is missing
6     EngineError            the Docker engine cannot be reached
7     ImageError             a base or builder image is missing
8     BuildError             a build command failed
9     CheckCommandError      a live check command cannot be started
10    VerifyError            a plugin would not load into its host
11    PipelineError          some combinations of a pipeline run failed
12    DoctorError            the machine misses what the matrix needs
13    NoxError               nox could not list the sessions
14    ModuleGraphError       a plugin needs other module versions than its host
15    FilesystemError        a file or folder cannot be read or written
130   (interrupted)          Ctrl-C; nothing half-written was kept
====  =====================  ==============================================
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


class UsageError(PluginBuilderError):
    """A command-line flag names something that does not exist."""

    return_code = 2


class ConfigError(PluginBuilderError):
    """buildconfig.toml is wrong; nothing was built."""

    return_code = 3

    def __init__(self, file: str, key: str | None, problem: str, *, fix: str | None = None) -> None:
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}", fix=fix)
        self.file = file
        self.key = key


class BinaryError(PluginBuilderError):
    """A binary to inspect is missing, not a file, or not what it must be."""

    return_code = 4


class ToolchainError(PluginBuilderError):
    """A Go toolchain or C compiler the build needs is missing or broken."""

    return_code = 5


class EngineError(PluginBuilderError):
    """The Docker engine cannot be reached or refused a request."""

    return_code = 6


class ImageError(PluginBuilderError):
    """An image a step needs is missing (a base image, a builder image)."""

    return_code = 7


class BuildError(PluginBuilderError):
    """A build command failed; its output is part of the message."""

    return_code = 8

    def __init__(self, what: str, output: str, *, fix: str | None = None) -> None:
        tail = textwrap.indent(output.strip()[-4000:], "    ")
        super().__init__(f"{what} failed:\n{tail}",
                         fix=fix or "correct what the output above names (a source "
                                    "file, or a setting of buildconfig.toml), then run the "
                                    "same command again")


class CheckCommandError(PluginBuilderError):
    """A live check command (a host's own, or the stand-in loader) cannot be started."""

    return_code = 9


class VerifyError(PluginBuilderError):
    """verify found at least one plugin that would not load."""

    return_code = 10


class PipelineError(PluginBuilderError):
    """At least one combination of a pipeline run failed; the others ran to the end."""

    return_code = 11


class DoctorError(PluginBuilderError):
    """doctor found something missing that the configured matrix needs."""

    return_code = 12


class NoxError(PluginBuilderError):
    """nox could not list the sessions the CI matrix is made from."""

    return_code = 13


class ModuleGraphError(PluginBuilderError):
    """A plugin needs a module at another version than its host has; nothing was built."""

    return_code = 14


class FilesystemError(PluginBuilderError):
    """A file or folder the command needs cannot be read or written (permissions, a
    read-only or full file system, a file where a folder should be)."""

    return_code = 15


INTERRUPTED = 130  # the shell's code for a process ended by SIGINT
