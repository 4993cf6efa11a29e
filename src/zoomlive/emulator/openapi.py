"""``GET /openapi.json``: the Zoom-compatible operations, generated from the operation catalog
with Zoom's operationIds, request and response schemas, scopes and rate-limit labels."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from zoomlive._version import __version__
from zoomlive.api import catalog
from zoomlive.api.errors import ErrorBody

_REF = "#/components/schemas/{model}"


def _schema(model: type[BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": _REF.format(model=model.__name__)}


def _error_response(description: str, components: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": _schema(ErrorBody, components, "serialization")}
        },
    }


EXAMPLE_IDS = {"webinarId": 68423085, "meetingId": 68423085, "userId": "me"}


def _path_param(op: catalog.Operation, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if name in ("webinarId", "meetingId") and op.operation_id not in ("webinar", "meeting"):
        schema = {"type": "integer", "format": "int64", "minimum": 1}
    description = {
        "webinarId": "The webinar's ID" + (" or UUID." if schema["type"] == "string" else "."),
        "meetingId": "The meeting's ID" + (" or UUID." if schema["type"] == "string" else "."),
        "userId": "The user's ID or email address, or `me`.",
    }.get(name, name)
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
        "example": EXAMPLE_IDS.get(name),
    }


def build_openapi(server_url: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in catalog.OPERATIONS:
        params = [_path_param(op, name) for name in re.findall(r"{(\w+)}", op.path)]
        if op.query_model is not None:
            query_schema = op.query_model.model_json_schema()
            for name, prop in query_schema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": False, "schema": prop})
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": list(op.tags),
            "parameters": params,
            "security": [{"OAuth": list(op.scopes)}],
            "x-macro-scopes": list(op.classic_scopes),
            "x-granular-scopes": list(op.granular_scopes),
            "x-zoom-rate-limit-label": op.label,
            "responses": {
                "400": _error_response(
                    "Zoom error (code 300 validation, 200, 3000...)", components
                ),
                "401": _error_response("Invalid or expired access token (code 124)", components),
                "404": _error_response("Not found (code 1001, 3001)", components),
                "413": _error_response("Request body too large", components),
                "429": _error_response("Rate limited", components),
                "default": _error_response("Any other Zoom error", components),
            },
        }
        success: dict[str, Any] = {"description": "Success"}
        if op.response_model is not None:
            success["content"] = {
                "application/json": {
                    "schema": _schema(op.response_model, components, "serialization")
                }
            }
        entry["responses"][str(op.success_status)] = success
        if op.request_model is not None:
            ref = _schema(op.request_model, components, "validation")
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": ref},
                    "multipart/form-data": {"schema": ref},
                    "application/x-www-form-urlencoded": {"schema": ref},
                },
            }
        paths.setdefault(op.full_path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Zoom Meeting API (zoomlive emulator)",
            "version": __version__,
            "description": "The Zoom-compatible operations the zoomlive emulator implements.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "OAuth": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": f"{server_url}/oauth/token",
                            "scopes": {s: s for s in catalog.all_scopes()},
                        }
                    },
                }
            },
        },
    }
