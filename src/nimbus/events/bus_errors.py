"""EventBridge's client errors, with the texts AWS answers (../shared/aws-semantics.md §1).

ClientError
 ├── ValidationError                 ValidationException (nimbus.errors)
 ├── ResourceNotFound                ResourceNotFoundException (400 on awsJson)
 ├── ResourceAlreadyExists           ResourceAlreadyExistsException
 ├── InvalidEventPattern             InvalidEventPatternException
 ├── LimitExceeded                   LimitExceededException
 └── IllegalStatus                   IllegalStatusException (replays that cannot change)
"""

from __future__ import annotations

from nimbus.errors import ClientError, ResourceAlreadyExists, ResourceNotFound
from nimbus.events.errors import PatternError

TOO_MANY = "The requested resource exceeds the maximum number allowed."


class InvalidEventPattern(ClientError):
    code = "InvalidEventPatternException"

    @classmethod
    def of(cls, error: PatternError) -> InvalidEventPattern:
        return cls(f"Event pattern is not valid. Reason: {error.reason}")


class LimitExceeded(ClientError):
    code = "LimitExceededException"

    def __init__(self, message: str = TOO_MANY) -> None:
        super().__init__(message)


class IllegalStatus(ClientError):
    code = "IllegalStatusException"


def no_bus(name: str) -> ResourceNotFound:
    return ResourceNotFound(f"Event bus {name} does not exist.")


def bus_exists(name: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"Event bus {name} already exists.")


def no_rule(name: str, bus: str) -> ResourceNotFound:
    return ResourceNotFound(f"Rule {name} does not exist on EventBus {bus}.")


def no_archive(name: str) -> ResourceNotFound:
    return ResourceNotFound(f"Archive {name} does not exist.")


def archive_exists(name: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"Archive {name} already exists.")


def no_replay(name: str) -> ResourceNotFound:
    return ResourceNotFound(f"Replay {name} does not exist.")


def replay_exists(name: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"Replay {name} already exists.")
