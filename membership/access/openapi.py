"""The OpenAPI 3 document of /api/v1: article access, the fundraiser's progress and its
transparency figures."""

from __future__ import annotations

from membership.access.services import MAX_REF_LENGTH

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "title", "message"],
            "properties": {
                "status": {"type": "integer"},
                "title": {"type": "string"},
                "message": {"type": "string"},
            },
        }
    },
}


def _error(description: str) -> dict:
    """A JSON error response."""
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _ref(description: str, max_length: int = MAX_REF_LENGTH) -> dict:
    """A short string parameter schema."""
    return {"type": "string", "minLength": 1, "maxLength": max_length, "description": description}


ACCESS_ANSWER = {
    "type": "object",
    "required": ["allowed", "reason", "perks", "required_perk"],
    "properties": {
        "allowed": {"type": "boolean"},
        "reason": {
            "type": "string",
            "enum": ["open", "perk", "metered", "meter_exhausted", "perk_required"],
        },
        "perks": {"type": "array", "items": {"type": "string"}},
        "required_perk": {"type": ["string", "null"]},
        "meter": {
            "type": "object",
            "required": ["limit", "used", "remaining"],
            "properties": {
                "limit": {"type": "integer", "minimum": 0},
                "used": {"type": "integer", "minimum": 0},
                "remaining": {"type": "integer", "minimum": 0},
            },
        },
    },
}


PROGRESS = {
    "type": "object",
    "required": ["slug", "currency", "goal", "raised", "backers", "percent", "ends_at", "outlets"],
    "properties": {
        "slug": {"type": "string"},
        "currency": {"type": "string", "pattern": "^[a-z]{3}$", "description": "ISO 4217, lower"},
        "goal": {"type": "integer", "minimum": 1, "description": "Minor units (Stripe's)."},
        "raised": {"type": "integer", "description": "Minor units, refunds netted."},
        "backers": {"type": "integer", "minimum": 0},
        "percent": {"type": "integer", "minimum": 0},
        "ends_at": {"type": "string", "format": "date-time"},
        "outlets": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["slug", "name", "raised"],
                "properties": {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    "raised": {"type": "integer"},
                },
            },
        },
    },
}


_MINOR = {"type": "integer", "description": "Minor units (Stripe's) of `currency`."}
_TRANSPARENCY_FIGURES = ["raised", "fees", "host_fee", "granted"]
TRANSPARENCY = {
    "type": "object",
    "required": ["slug", "currency", *_TRANSPARENCY_FIGURES, "outlets"],
    "properties": {
        "slug": {"type": "string"},
        "currency": {"type": "string", "pattern": "^[a-z]{3}$", "description": "ISO 4217, lower"},
        "raised": {**_MINOR, "description": "Gross gifts net of refunds and lost disputes."},
        "fees": {**_MINOR, "description": "Stripe's fees (balance transactions)."},
        "host_fee": {**_MINOR, "description": "The fiscal host's fee."},
        "granted": {**_MINOR, "description": "Grants paid to the outlets."},
        "outlets": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["slug", "name", *_TRANSPARENCY_FIGURES, "balance"],
                "properties": {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    **{name: _MINOR for name in _TRANSPARENCY_FIGURES},
                    "balance": {**_MINOR, "description": "Still owed to the outlet: raised less "
                                "fees, host fee and grants."},
                },
            },
        },
    },
}  # fmt: skip


def document(base_url: str) -> dict:
    """The OpenAPI document, with this deployment's address as the server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Newsroom Members: public API",
            "version": "1",
            "description": "May this reader read this article? See docs/cms-integration.md.",
        },
        "servers": [{"url": base_url + "/api/v1"}],
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "accessToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cmsKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
        },
        "paths": {
            "/access": {
                "get": {
                    "operationId": "access",
                    "summary": "Whether the reader may read an article, and why.",
                    "security": [{}, {"session": []}, {"accessToken": []}, {"cmsKey": []}],
                    "parameters": [
                        {
                            "name": "article",
                            "in": "query",
                            "required": True,
                            "schema": _ref("The CMS's id, slug or URL path of the article."),
                        },
                        {
                            "name": "perk",
                            "in": "query",
                            "schema": _ref("Ask about this perk instead of the rules.", 64),
                        },
                        {
                            "name": "tag",
                            "in": "query",
                            "schema": {"type": "array", "maxItems": 20, "items": _ref("Tag")},
                            "style": "form",
                            "explode": True,
                        },
                        {
                            "name": "peek",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["0", "1"]},
                            "description": "1: report the meter without spending a free read.",
                        },
                        {
                            "name": "member",
                            "in": "query",
                            "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"},
                            "description": "With X-API-Key: the reader's id.",
                        },
                        {
                            "name": "email",
                            "in": "query",
                            "schema": _ref("With X-API-Key: the reader's e-mail.", 254),
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The answer.",
                            "content": {"application/json": {"schema": ACCESS_ANSWER}},
                        },
                        "400": _error("Missing or bad parameter."),
                        "401": _error("Bad access token or API key."),
                        "404": _error("Unknown perk or member."),
                    },
                }
            },
            "/token": {
                "get": {
                    "operationId": "token",
                    "summary": "The signed-in reader's access token (also set as a cookie).",
                    "security": [{"session": []}],
                    "responses": {
                        "200": {
                            "description": "A fresh token.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["token", "expires_at"],
                                        "properties": {
                                            "token": {"type": "string"},
                                            "expires_at": {"type": "integer"},
                                        },
                                    }
                                }
                            },
                        },
                        "401": _error("Not signed in."),
                    },
                }
            },
            "/keys": {
                "get": {
                    "operationId": "keys",
                    "summary": "The public keys that verify access tokens (JWKS).",
                    "responses": {
                        "200": {
                            "description": "A JSON Web Key Set.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["keys"],
                                        "properties": {
                                            "keys": {"type": "array", "items": {"type": "object"}}
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/fundraisers/{slug}/progress": {
                "get": {
                    "operationId": "fundraiserProgress",
                    "summary": "A live fundraiser's figures: raised, goal, backers, each outlet.",
                    "description": "Public and cacheable (max-age 5 s), open to every origin. "
                    "Answers 304 when If-None-Match names the current ETag (weak or strong).",
                    "parameters": [
                        {
                            "name": "slug",
                            "in": "path",
                            "required": True,
                            "schema": _ref("The fundraiser's slug.", 120),
                        },
                        {
                            "name": "If-None-Match",
                            "in": "header",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The figures.",
                            "headers": {"ETag": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": PROGRESS}},
                        },
                        "304": {"description": "Unchanged since the ETag sent."},
                        "404": _error("No such fundraiser (or a draft)."),
                    },
                }
            },
            "/fundraisers/{slug}/transparency": {
                "get": {
                    "operationId": "fundraiserTransparency",
                    "summary": "Where a fundraiser's money went: raised, Stripe's fees, the "
                    "host's fee and grants paid, per outlet.",
                    "description": "Public and cacheable (max-age 5 s), open to every origin; "
                    "304 when If-None-Match names the current ETag. Each outlet's raised "
                    "equals fees + host_fee + granted + balance, to the minor unit.",
                    "parameters": [
                        {
                            "name": "slug",
                            "in": "path",
                            "required": True,
                            "schema": _ref("The fundraiser's slug.", 120),
                        },
                        {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "The figures.",
                            "headers": {"ETag": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": TRANSPARENCY}},
                        },
                        "304": {"description": "Unchanged since the ETag sent."},
                        "404": _error("No such fundraiser (or a draft)."),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
    }
