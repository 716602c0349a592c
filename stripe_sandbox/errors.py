"""The error the sandbox answers with Stripe's error envelope."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An API error rendered as ``{"error": {...}}`` with Stripe's HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """Return the JSON envelope Stripe answers for this error."""
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        if self.decline_code:
            err["decline_code"] = self.decline_code
        err.update(self.extra)
        return {"error": err}


def missing(kind: str, obj_id: str, param: str = "id") -> StripeError:
    """Build Stripe's 404 for an unknown object id."""
    return StripeError(404, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param)


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    """Build a 400 invalid_request_error."""
    code = code or ("parameter_invalid" if param else None)
    return StripeError(400, message, param=param, code=code)
