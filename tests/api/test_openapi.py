"""GET /openapi.json describes the API, and a schemathesis run against it finds no 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ClinicFixture, Server

OPERATIONS = {
    ("post", "/v1/autoScribe/studies"): "createStudy",
    ("get", "/v1/autoScribe/studies"): "listStudies",
    ("get", "/v1/autoScribe/studies/{studyId}"): "retrieveStudy",
    ("patch", "/v1/autoScribe/studies/{studyId}"): "updateStudy",
    ("get", "/v1/autoScribe/studies/by-uid/{studyInstanceUid}"): "retrieveStudyByUid",
    ("post", "/v1/autoScribe/studies/cancel"): "cancelStudy",
    ("post", "/v1/autoScribe/studies/uncancel"): "uncancelStudy",
    ("post", "/v1/express"): "createExpressCustomer",
    ("get", "/v1/express"): "listExpressCustomers",
    ("get", "/v1/express/{expressCustomerId}"): "retrieveExpressCustomer",
    ("patch", "/v1/express/{expressCustomerId}"): "updateExpressCustomer",
    ("post", "/v1/express/{expressCustomerId}/deactivate"): "deactivateExpressCustomer",
    ("post", "/v1/express/{expressCustomerId}/reactivate"): "reactivateExpressCustomer",
    ("post", "/v1/express/{expressCustomerId}/users"): "addExpressCustomerUser",
    ("delete", "/v1/express/{expressCustomerId}/users"): "removeExpressCustomerUser",
    ("post", "/v1/autoScribe/studies/reroute-url"): "rerouteUrl",
    ("post", "/v1/autoScribe/studies/viewer-only-reroute-url"): "viewerOnlyRerouteUrl",
    ("post", "/v1/autoScribe/ephemeral-sessions"): "createEphemeralSession",
}
# Operations left out of the schemathesis run (none: every operation is implemented).
NOT_YET: tuple[str, ...] = ()

CAMEL = re.compile(r"[a-z][a-zA-Z0-9]*")


def property_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from property_names(item)


def test_openapi_describes_every_operation(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    operations = {(method, path): op for path, item in spec["paths"].items() for method, op in item.items()}
    for key, operation_id in OPERATIONS.items():
        op = operations[key]
        assert op["operationId"] == operation_id
        assert op["security"] == [{"apiKey": []}]
        error = op["responses"]["4XX"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorBody"}
        assert "422" not in op["responses"]  # validation errors are 400 with the same shape
        for param in op.get("parameters", []):
            assert CAMEL.fullmatch(param["name"]), (operation_id, param["name"])
    ids = [op["operationId"] for op in operations.values()]
    assert len(ids) == len(set(ids))
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <API key>",
    }

    schemas = spec["components"]["schemas"]
    bad = sorted({name for name in property_names(schemas) if not CAMEL.fullmatch(name)})
    assert bad == []
    study = schemas["StudyOut"]
    assert set(study["required"]) >= {
        "cancelledAt", "createdAt", "isCancelled", "reportMetadata", "severity", "studyDescription",
        "studyId", "studyInstanceUid", "studyReportStatus", "updatedAt",
    }  # fmt: skip
    assert study["properties"]["reportMetadata"] == {"$ref": "#/components/schemas/ReportMetadataOut"}
    assert study["properties"]["createdAt"]["anyOf"][0] == {"type": "string", "format": "date-time"}
    create = schemas["StudyCreate"]
    assert set(create["required"]) == {"reportMetadata", "severity", "studyDescription", "studyInstanceUid"}
    assert create["additionalProperties"] is False
    assert create["properties"]["technologistNotes"]["anyOf"][0]["maxItems"] == 50
    assert "studyInstanceUid" not in schemas["StudyUpdate"]["properties"]
    list_params = {p["name"]: p for p in operations[("get", "/v1/autoScribe/studies")]["parameters"]}
    assert set(list_params) == {
        "assignedTo", "cursor", "expressCustomerId", "isCancelled", "limit", "severity",
        "studyDescription", "studyReportStatus", "studyType",
    }  # fmt: skip
    assert list_params["limit"]["schema"]["maximum"] == 100
    assert schemas["ErrorBody"]["required"] == ["error"]
    assert set(schemas["ErrorDetail"]["required"]) == {"type", "message"}


def test_schemathesis_finds_no_server_errors(server: Server, clinic: ClinicFixture, tmp_path: Path) -> None:
    """Generated valid and invalid requests for every operation: no 5xx, and every answer matches
    its documented schema, status codes and content type; requests without a key get 401."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {clinic.api_key}",
        "--checks",
        ",".join(
            (
                "not_a_server_error",
                "status_code_conformance",
                "content_type_conformance",
                "response_headers_conformance",
                "response_schema_conformance",
                "negative_data_rejection",
                "missing_required_header",
                "ignored_auth",
            )
        ),
        "--max-examples",
        "15",
        "--seed",
        "20261128",
        # One worker: schemathesis 4's generation caches are not safe across worker threads.
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--report-dir",
        str(tmp_path),
    ]
    for operation_id in NOT_YET:
        command += ["--exclude-operation-id", operation_id]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    spec = httpx.get(f"{server.url}/openapi.json").json()
    operations = sum(len(item) for item in spec["paths"].values())
    assert f"Tested: {operations - len(NOT_YET)}" in done.stdout, done.stdout[-3000:]
