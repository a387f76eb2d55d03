"""The webhook body: the bytes that are signed and sent."""

from __future__ import annotations

import pytest

from autoscribe.webhooks.signing import envelope_bytes, normalize_data


def test_body_is_compact_utf8_with_integral_floats_as_integers() -> None:
    body = envelope_bytes(
        "whe_" + "1" * 32, "report.delivered", {"b": 1.0, "a": [2.5, {"z": "Zoë"}], "c": None}
    )
    assert (
        body
        == (
            '{"id":"whe_' + "1" * 32 + '","type":"report.delivered","data":'
            '{"b":1,"a":[2.5,{"z":"Zoë"}],"c":null}}'
        ).encode()
    )
    with pytest.raises(ValueError):
        normalize_data({"x": float("nan")})
    with pytest.raises(TypeError):
        normalize_data({"x": object()})
