"""Every error Sesame answers with, as one hierarchy.

    ServiceError                      (code, status, message)
    ├── modelled errors of the sesv2 model (one class per error shape):
    │     BadRequestException 400, NotFoundException 404, AlreadyExistsException 400,
    │     LimitExceededException 400, TooManyRequestsException 429, ConflictException 409,
    │     ConcurrentModificationException 500, MessageRejected 400, ...
    ├── SerializationException 400     body is not JSON / a member has the wrong JSON type
    ├── UnknownOperationException 404  no operation answers this method and path
    ├── NotImplementedOperation 501    in the model, not implemented by Sesame
    ├── InternalFailure 500            a bug; the traceback goes to the log, never the client
    └── AuthError 403                  SigV4 failures
          ├── MissingAuthenticationTokenException
          ├── UnrecognizedClientException
          ├── IncompleteSignatureException
          ├── InvalidSignatureException
          └── SignatureDoesNotMatch

Only the code, the status and the message reach the wire (see serializer.py):
the sesv2 error shapes have no members, so boto3 reads the code from the
`x-amzn-ErrorType` header and the text from the body's `message`.
"""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """An error with an AWS error code, an HTTP status and a message."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


# The model's own error shapes (their statuses are checked against the model by a test).


class AccountSuspendedException(ServiceError):
    code = "AccountSuspendedException"
    status = 400


class AlreadyExistsException(ServiceError):
    code = "AlreadyExistsException"
    status = 400


class BadRequestException(ServiceError):
    code = "BadRequestException"
    status = 400


class ConcurrentModificationException(ServiceError):
    code = "ConcurrentModificationException"
    status = 500


class ConflictException(ServiceError):
    code = "ConflictException"
    status = 409


class InternalServiceErrorException(ServiceError):
    code = "InternalServiceErrorException"
    status = 500


class InvalidNextTokenException(ServiceError):
    code = "InvalidNextTokenException"
    status = 400


class LimitExceededException(ServiceError):
    code = "LimitExceededException"
    status = 400


class MailFromDomainNotVerifiedException(ServiceError):
    code = "MailFromDomainNotVerifiedException"
    status = 400


class MessageRejected(ServiceError):
    code = "MessageRejected"
    status = 400


class NotFoundException(ServiceError):
    code = "NotFoundException"
    status = 404


class SendingPausedException(ServiceError):
    code = "SendingPausedException"
    status = 400


class TooManyRequestsException(ServiceError):
    code = "TooManyRequestsException"
    status = 429


class SerializationException(ServiceError):
    """The body is not a JSON object, or a member has the wrong JSON type (AWS: 400)."""

    code = "SerializationException"
    status = 400


class UnknownOperationException(ServiceError):
    """No operation of the sesv2 model answers this method and path."""

    code = "UnknownOperationException"
    status = 404


class NotImplementedOperation(ServiceError):
    """An operation that is in the model but that Sesame does not implement yet."""

    code = "NotImplementedException"
    status = 501


class InternalFailure(ServiceError):
    code = "InternalFailure"
    status = 500


class AuthError(ServiceError):
    """A SigV4 failure: AWS answers these with 403."""

    code = "AccessDeniedException"
    status = 403


class MissingAuthenticationTokenException(AuthError):
    code = "MissingAuthenticationTokenException"


class UnrecognizedClientException(AuthError):
    code = "UnrecognizedClientException"


class IncompleteSignatureException(AuthError):
    code = "IncompleteSignatureException"


class InvalidSignatureException(AuthError):
    code = "InvalidSignatureException"


class SignatureDoesNotMatch(AuthError):
    code = "SignatureDoesNotMatch"


MODELLED_ERRORS: tuple[type[ServiceError], ...] = (
    AccountSuspendedException,
    AlreadyExistsException,
    BadRequestException,
    ConcurrentModificationException,
    ConflictException,
    InternalServiceErrorException,
    InvalidNextTokenException,
    LimitExceededException,
    MailFromDomainNotVerifiedException,
    MessageRejected,
    NotFoundException,
    SendingPausedException,
    TooManyRequestsException,
)


class RequestEntityTooLarge(ServiceError):
    """The body is larger than any SES v2 request can be."""

    code = "RequestEntityTooLargeException"
    status = 413
