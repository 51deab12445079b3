"""The decoder: tolerant of the documented variations, typed errors for everything else."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.measures import normalise_collector, normalise_prefix, parse_utc
from monitor.core.observation import PrefixView, RpkiStatus
from monitor.sources.radar_routes import decode_routes
from monitor.sources.radar_wire import DecodeError, NotJsonError

# Synthetic: no real realtime answer is public; this follows the documented schema.
DOC: dict[str, Any] = {
    "success": True,
    "errors": [],
    "messages": [],
    "result": {
        "meta": {
            "asn_info": [
                {
                    "asn": 13335,
                    "as_name": "CLOUDFLARENET",
                    "country_code": "US",
                    "org_id": "CLOUD14-ARIN",
                    "org_name": "Cloudflare, Inc.",
                }
            ],
            "collectors": [
                {
                    "collector": "RRC01",
                    "latest_realtime_ts": "2026-11-28T11:59:00Z",
                    "latest_rib_ts": "2026-11-28T08:00:00",
                    "latest_updates_ts": "",
                    "peers_count": 40,
                    "peers_v4_count": 30,
                    "peers_v6_count": 10,
                },
                {"collector": "rrc25.ripe.net", "latest_realtime_ts": None, "peers_count": 3},
            ],
            "data_time": "2026-11-28T11:59:30.123Z",
            "prefix_origins": [
                {
                    "origin": 13335,
                    "prefix": "1.1.1.0/24",
                    "rpki_validation": "VALID",
                    "total_peers": 1200,
                    "total_visible": 1100,
                    "visibility": 0.9166,
                },
                {
                    "origin": 666,
                    "prefix": "1.1.1.0/24",
                    "rpki_validation": "invalid_asn",
                    "total_peers": 1200,
                    "total_visible": 12,
                },
            ],
            "query_time": "2026-11-28T12:00:00+00:00",
            "a_field_added_later": {"x": 1},
        },
        "routes": [
            {
                "as_path": [6447, 3356, 13335, 13335],
                "collector": "route-views2",
                "communities": ["3356:100"],
                "prefix": "1.1.1.0/24",
                "timestamp": "2026-11-28T11:58:00.5",
            },
            {"as_path": [1299, 666], "collector": "rrc00", "prefix": "1.1.1.0/24"},
        ],
    },
}


def decode(doc: Any) -> PrefixView:
    envelope = decode_routes(json.dumps(doc).encode(), "1.1.1.0/24")
    assert envelope.result is not None
    return envelope.result


def test_documented_answer_decodes() -> None:
    ans = decode(DOC)
    assert [(o.origin, o.rpki) for o in ans.origins] == [
        (13335, RpkiStatus.VALID),
        (666, RpkiStatus.INVALID),
    ]
    assert ans.origins[1].visibility == 0.01  # computed when the field is missing
    assert ans.total_peers == 1200
    assert [c.name for c in ans.collectors] == ["rrc01", "rrc25"]
    rrc01 = ans.collectors[0]
    assert rrc01.realtime_ts == datetime(2026, 11, 28, 11, 59, tzinfo=UTC)
    assert rrc01.rib_ts == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert rrc01.updates_ts is None
    assert ans.collectors[1].realtime_ts is None
    assert ans.routes[0].origin == 13335
    assert ans.routes[1].communities == ()
    assert ans.routes[1].timestamp is None
    assert ans.data_time == datetime(2026, 11, 28, 11, 59, 30, 123000, tzinfo=UTC)
    assert ans.as_name(13335) == "CLOUDFLARENET"
    assert ans.as_name(666) == ""


def test_empty_answer_is_data_not_error() -> None:
    doc = {"success": True, "result": {"meta": {"prefix_origins": []}, "routes": []}}
    ans = decode(doc)
    assert ans.origins == () and ans.routes == () and ans.total_peers == 0


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("valid", RpkiStatus.VALID),
        ("VALID", RpkiStatus.VALID),
        ("Invalid", RpkiStatus.INVALID),
        ("invalid_length", RpkiStatus.INVALID),
        ("INVALID-ASN", RpkiStatus.INVALID),
        ("not-found", RpkiStatus.UNKNOWN),
        ("NotFound", RpkiStatus.UNKNOWN),
        ("unknown", RpkiStatus.UNKNOWN),
        ("", RpkiStatus.UNKNOWN),
        (None, RpkiStatus.UNKNOWN),
    ],
)
def test_rpki_spellings(raw: str | None, status: RpkiStatus) -> None:
    assert RpkiStatus.parse(raw) is status


@pytest.mark.parametrize(
    "raw",
    [
        "2024-06-03T14:00:00",
        "2024-06-03T14:00:00Z",
        "2024-06-03T14:00:00+00:00",
        "2024-06-03T16:00:00+02:00",
        "2024-06-03T14:00:00.000Z",
        "2024-06-03T14:00:00.000000",
        "2024-06-03 14:00:00",
    ],
)
def test_timestamp_spellings_mean_the_same_instant(raw: str) -> None:
    assert parse_utc(raw) == datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


def test_names_are_normalised() -> None:
    assert normalise_collector(" RRC25.ripe.net") == "rrc25"
    assert normalise_collector("route-views.linx") == "route-views.linx"
    assert normalise_prefix("2605:de00:bb:0:0:0:0:0/48") == "2605:de00:bb::/48"


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (b"<html>502 Bad Gateway</html>", NotJsonError, "not valid JSON"),
        (json.dumps(DOC).encode()[:500], NotJsonError, "not valid JSON"),
        (b'{"success": "yes"}', DecodeError, "$.success"),
        (
            json.dumps(
                {**DOC, "result": {"meta": {"prefix_origins": [{"origin": "AS13335"}]}}}
            ).encode(),
            DecodeError,
            "$.result.meta.prefix_origins[0].origin",
        ),
        (
            json.dumps(
                {"success": True, "result": {"routes": [{"timestamp": "yesterday"}]}}
            ).encode(),
            DecodeError,
            "result.routes[0].timestamp",
        ),
        (
            json.dumps(
                {
                    "success": True,
                    "result": {"meta": {"prefix_origins": [{"origin": 1, "total_peers": -5}]}},
                }
            ).encode(),
            DecodeError,
            "negative peer count",
        ),
    ],
)
def test_bad_bodies_are_typed_errors_naming_the_place(
    body: bytes, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as info:
        decode_routes(body, "1.1.1.0/24")
    assert words in str(info.value)


def test_failure_envelope_keeps_codes() -> None:
    body = b'{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}],"messages":[],"result":null}'
    envelope = decode_routes(body, "1.1.1.0/24")
    assert not envelope.success and envelope.result is None
    assert envelope.errors[0].code == 6003
    assert envelope.errors[0].error_chain is not None
    assert envelope.errors[0].error_chain[0].code == 6111


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_a_model_or_a_typed_error(body: bytes) -> None:
    with contextlib.suppress(DecodeError):  # any other exception fails the test
        decode_routes(body, "1.1.1.0/24")
