"""100k malformed messages through the running monitor: no crash, no stall, all accounted for."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from kafka_support import new_topic, payloads, produce, read_all, run_in_thread
from test_stream_kafka import alerts_of, profile, settings_for  # noqa: F401 - fixture

from stream_monitor.profile.model import Profile
from stream_monitor.stream.kafka_app import KafkaMonitor
from stream_monitor.synthetic import traffic

pytestmark = pytest.mark.kafka

BAD_MESSAGES = 107_000  # about 1 in 17 is a good record with extra fields
GOOD_MESSAGES = 20_000
MAX_BYTES = 16_384


def hostile(rng: random.Random, good: dict[str, object]) -> tuple[bytes | None, str | None]:
    """One malformed message and the reason it must be dead-lettered with (None: a good
    record with unexpected extra fields, which must be scored, the extras ignored)."""
    kind = rng.randrange(17)
    if kind == 16:
        extra = rng.choice(
            [
                {"unexpected": {"deep": [1, {"x": None}]}},
                {"": 1, "\u202e<script>": "x" * 300},
                {"age_v2": "text", "income2": [1.5, None]},
            ]
        )
        return json.dumps({**good, **extra}).encode(), None
    if kind == 0:
        never_utf8 = [0xC0, 0xC1, *range(0xF5, 0x100)]  # bytes no UTF-8 sequence contains
        noise = bytes(rng.choice(never_utf8) for _ in range(rng.randrange(1, 40)))
        return b'{"region": "' + noise + b'"}', "invalid_utf8"
    if kind == 1:
        text = json.dumps(good).encode()
        return text[: rng.randrange(1, len(text) - 1)], "invalid_json"
    if kind == 2:
        depth = rng.randrange(2_000, 7_000)  # under the size limit, over any parser's depth
        return b'{"age": ' + b"[" * depth + b"]" * depth + b"}", "invalid_json"
    if kind == 3:
        huge = {f"k{i}": i for i in range(5_000)}
        return json.dumps({**good, **huge}).encode(), "oversized"
    if kind == 4:
        return json.dumps({**good, "age": float("nan")}).encode(), "invalid_json"  # NaN literal
    if kind == 5:
        return json.dumps({**good, "income": float("inf")}).encode(), "invalid_json"
    if kind == 6:
        return json.dumps({**good, "age": str(good["age"])}).encode(), "wrong_type"
    if kind == 7:
        wrong = rng.choice([True, [1, 2], {"nested": 1}])
        return json.dumps({**good, "balance": wrong}).encode(), "wrong_type"
    if kind == 8:
        return json.dumps({**good, "region": {"a": 1}}).encode(), "wrong_type"
    if kind == 9:
        missing = dict(good)
        missing.pop(rng.choice(["age", "income", "utilization"]))
        return json.dumps(missing).encode(), "missing_field"
    if kind == 10:
        return json.dumps({**good, "savings": None}).encode(), "missing_field"
    if kind == 11:
        return rng.choice([None, b"", b"   ", b"\n"]), "empty"
    if kind == 12:
        return rng.choice([b"42", b'"text"', b"null", b"true", b"[1, 2]"]), "not_an_object"
    if kind == 13:
        return b"{" + b"x" * rng.randrange(MAX_BYTES, 3 * MAX_BYTES), "oversized"
    if kind == 14:
        junk = "".join(rng.choice('{}[]:,"abc\\ \t') for _ in range(rng.randrange(1, 30)))
        return b"\x00" + junk.encode(), "invalid_json"
    return json.dumps({**good, "income": "NaN"}).encode(), "wrong_type"


def test_hostile_messages_are_dead_lettered_with_reasons(profile: Profile) -> None:  # noqa: F811
    """Every malformed message lands in the dead-letter topic with its reason; good ones score."""
    rng = random.Random(2026)
    goods = traffic(GOOD_MESSAGES, seed=31).drop("id").to_dicts()
    good_payloads = payloads(traffic(GOOD_MESSAGES, seed=31).drop("id"))
    values: list[bytes | None] = []
    expected: dict[int, str] = {}
    g = extras = 0
    for i in range(BAD_MESSAGES + GOOD_MESSAGES):
        if g < GOOD_MESSAGES and (
            rng.random() < GOOD_MESSAGES / (BAD_MESSAGES + GOOD_MESSAGES) or i >= BAD_MESSAGES + g
        ):
            values.append(good_payloads[g])
            g += 1
        else:
            value, reason = hostile(rng, goods[rng.randrange(GOOD_MESSAGES)])
            if reason is None:
                extras += 1
            else:
                expected[i] = reason
            values.append(value)
    topic = new_topic("hostile")
    produce(topic, values)
    settings = settings_for(topic, max_payload_bytes=MAX_BYTES)
    counters = run_in_thread(KafkaMonitor(profile, settings), len(values), timeout_s=600)
    assert counters.messages == len(values)
    assert counters.dead_lettered == len(expected) >= 100_000
    assert counters.scored == GOOD_MESSAGES + extras
    assert counters.scored + counters.dead_lettered == counters.records
    found = {}
    for message in read_all(settings.dead_letter_topic):
        headers = {k: v.decode() for k, v in message.headers() or []}
        found[int(headers["stream-monitor.source-offset"])] = headers["stream-monitor.reason"]
        assert message.value() == values[int(headers["stream-monitor.source-offset"])]
    mismatched = Counter(
        (expected.get(offset), reason)
        for offset, reason in found.items()
        if expected.get(offset) != reason
    )
    assert not mismatched, mismatched.most_common(5)
    assert found.keys() == expected.keys()
    alerts = alerts_of(settings.alert_topic)
    assert any(
        a["type"] == "schema_violation" and a["detector"] == "dead_letter_share" for a in alerts
    )
