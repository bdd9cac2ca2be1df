"""Typed errors with a message a user can act on and the exit code the CLI returns for them."""


class WorkbenchError(Exception):
    """Base of every failure shown to a user: `user_message` says what happened and what to do."""

    exit_code = 1

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class InputError(WorkbenchError):
    """A file cannot be read: wrong type, corrupt, encrypted, too large, or unsafe."""

    exit_code = 2

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class ConfigError(WorkbenchError):
    """A setting is missing or wrong (a model folder, a server URL, a root folder)."""

    exit_code = 3


class EngineError(WorkbenchError):
    """An engine failed on a document (model error, server error, invalid output)."""

    exit_code = 4


class StoreError(WorkbenchError):
    """The database refused an operation (for example a concurrent edit of the same document)."""

    exit_code = 5


class ConflictError(StoreError):
    """Someone else saved the same document since it was opened: reload and apply the change again."""
