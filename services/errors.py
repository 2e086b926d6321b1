"""The one exception business rules raise: a Chinese message and an HTTP status."""


class ServiceError(Exception):
    status = 400

    def __init__(self, message, status=None, field=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.field = field


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409
