"""The decoder under hypothesis: any JSON, shaped like the documented answer or not, gives a
model or a typed error (400 examples: seconds, so not in the unit lane)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.observation import RpkiStatus
from monitor.sources.radar_routes import decode_routes
from monitor.sources.radar_wire import DecodeError

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)

# Documented keys with arbitrary values, so hypothesis reaches deep into the schema.
ORIGIN = st.fixed_dictionaries(
    {},
    optional={
        "origin": JSON | st.integers(),
        "prefix": JSON,
        "rpki_validation": JSON | st.sampled_from(["VALID", "invalid_asn", "not-found"]),
        "total_peers": JSON | st.integers(),
        "total_visible": JSON | st.integers(),
        "visibility": JSON | st.floats(),
    },
)
ROUTE = st.fixed_dictionaries(
    {},
    optional={
        "as_path": JSON | st.lists(st.integers()),
        "collector": JSON,
        "communities": JSON | st.lists(st.text()),
        "timestamp": JSON | st.datetimes().map(datetime.isoformat) | st.text(),
    },
)
COLLECTOR = st.fixed_dictionaries(
    {"collector": JSON | st.text()},
    optional={
        k: JSON | st.text() for k in ("latest_realtime_ts", "latest_rib_ts", "latest_updates_ts")
    },
)
ENVELOPE = st.fixed_dictionaries(
    {"success": st.booleans() | JSON},
    optional={
        "errors": JSON | st.lists(st.fixed_dictionaries({"code": JSON, "message": JSON})),
        "result": JSON
        | st.fixed_dictionaries(
            {},
            optional={
                "meta": JSON
                | st.fixed_dictionaries(
                    {},
                    optional={
                        "prefix_origins": JSON | st.lists(ORIGIN, max_size=3),
                        "collectors": JSON | st.lists(COLLECTOR, max_size=3),
                        "asn_info": JSON,
                        "data_time": JSON | st.text(),
                    },
                ),
                "routes": JSON | st.lists(ROUTE, max_size=3),
            },
        ),
    },
)


@settings(max_examples=400, deadline=None)
@given(ENVELOPE | JSON)
def test_arbitrary_json_gives_a_model_or_a_typed_error(doc: Any) -> None:
    try:
        envelope = decode_routes(json.dumps(doc).encode(), "1.1.1.0/24")
    except DecodeError as exc:
        assert str(exc)
        return
    if envelope.result is not None:
        for o in envelope.result.origins:
            assert 0.0 <= o.visibility <= 1.0
            assert o.rpki in RpkiStatus
