"""Config API errors, in Janssen's ApiError shape: {"code", "message", "description"}."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus


@dataclass(slots=True)
class ApiError(Exception):
    status: int
    description: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, str]:
        return {
            "code": str(self.status),
            "message": HTTPStatus(self.status).phrase,
            "description": self.description,
        }


def bad_request(description: str) -> ApiError:
    return ApiError(400, description)


def not_found(description: str) -> ApiError:
    return ApiError(404, description)
