"""One exception class per status code (PROTOCOL.md §9)."""


class ModelwireError(Exception):
    """A call (or the connection) ended with a non-OK status.

    `code` is the numeric status code (gRPC's numbers), `message` the server's English text,
    `retry_after_ms` the retry hint or None, `supported_protocol_versions` set on handshake failures.
    """
    code = 2
    name = "UNKNOWN"

    def __init__(self, message="", retry_after_ms=None, supported_protocol_versions=(), code=None):
        if code is not None:
            self.code = code
        super().__init__(message)
        self.message = message
        self.retry_after_ms = retry_after_ms
        self.supported_protocol_versions = list(supported_protocol_versions)

    def __str__(self):
        text = f"{self.name} ({self.code}): {self.message}"
        if self.retry_after_ms is not None:
            text += f" (retry after {self.retry_after_ms} ms)"
        return text


def _make(name, code, class_name):
    return type(class_name, (ModelwireError,), {"code": code, "name": name, "__doc__": f"Status code {code}, {name}."})


Cancelled = _make("CANCELLED", 1, "Cancelled")
Unknown = _make("UNKNOWN", 2, "Unknown")
InvalidArgument = _make("INVALID_ARGUMENT", 3, "InvalidArgument")
DeadlineExceeded = _make("DEADLINE_EXCEEDED", 4, "DeadlineExceeded")
NotFound = _make("NOT_FOUND", 5, "NotFound")
AlreadyExists = _make("ALREADY_EXISTS", 6, "AlreadyExists")
PermissionDenied = _make("PERMISSION_DENIED", 7, "PermissionDenied")
ResourceExhausted = _make("RESOURCE_EXHAUSTED", 8, "ResourceExhausted")
FailedPrecondition = _make("FAILED_PRECONDITION", 9, "FailedPrecondition")
Aborted = _make("ABORTED", 10, "Aborted")
OutOfRange = _make("OUT_OF_RANGE", 11, "OutOfRange")
Unimplemented = _make("UNIMPLEMENTED", 12, "Unimplemented")
Internal = _make("INTERNAL", 13, "Internal")
Unavailable = _make("UNAVAILABLE", 14, "Unavailable")
DataLoss = _make("DATA_LOSS", 15, "DataLoss")
Unauthenticated = _make("UNAUTHENTICATED", 16, "Unauthenticated")

BY_CODE = {cls.code: cls for cls in (Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists,
                                     PermissionDenied, ResourceExhausted, FailedPrecondition, Aborted, OutOfRange,
                                     Unimplemented, Internal, Unavailable, DataLoss, Unauthenticated)}


def error_for_status(status):
    """The exception for a `modelwire.v1.Status` message (unknown codes become ModelwireError with that code)."""
    retry = status.retry_after_ms if status.HasField("retry_after_ms") else None
    cls = BY_CODE.get(status.code)
    if cls is None:
        return ModelwireError(status.message, retry, status.supported_protocol_versions, code=status.code)
    return cls(status.message, retry, status.supported_protocol_versions)


__all__ = ["ModelwireError", "BY_CODE", "error_for_status"] + [cls.__name__ for cls in BY_CODE.values()]
