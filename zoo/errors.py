"""User-facing errors: each one is printed by the CLI as a single line, with a non-zero exit.

Raise a ``MedzooError`` (or a subclass) whenever the cause is something the user can fix: a name,
a file, a value. The message names what was wrong and how to fix it. Anything else is a bug and
keeps its traceback.

Usage::

    raise ConfigError("benchmarks/quick.yaml:12: 'epochs' must be an integer, got 'ten'")
"""


class MedzooError(Exception):
    """Base class of every error the user can fix; ``str(err)`` is the one line the CLI prints."""

    exit_code = 2


class UnknownNameError(MedzooError, KeyError):
    """A registry lookup failed; the message carries the 'did you mean' hint and what exists."""

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class RegistryConflictError(MedzooError):
    """Two sources register the same name in one registry."""


class PluginError(MedzooError):
    """A plugin entry could not be loaded or has the wrong type."""


class ConfigError(MedzooError):
    """A suite file, an override or a hyperparameter is malformed."""


class DataError(MedzooError):
    """A data file is missing, corrupt or does not match its checksum."""


class OutputError(MedzooError):
    """The output directory cannot be written."""


class HubError(MedzooError):
    """A Hugging Face Hub operation failed for a reason the user can fix (repo, revision, token, network, hash)."""
