"""The bounded retry of broker calls, with the KafkaError objects librdkafka raises."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from stream_monitor.errors import ConfigError
from stream_monitor.stream.retry import RETRIABLE_CODES, retrying

BOUND_S = 0.6


class Failing:
    """A broker call that raises ``error`` its first ``times`` calls, then answers 42."""

    def __init__(self, error: KafkaError, times: int = 1_000_000) -> None:
        self.error = error
        self.times = times
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.times:
            raise KafkaException(self.error)
        return 42


@pytest.mark.parametrize("code", sorted(RETRIABLE_CODES))
def test_a_retriable_error_is_asked_again_until_it_passes(code: int) -> None:
    """A call failing with a retriable code returns its answer when asked again."""
    call = Failing(KafkaError(code), times=1)
    assert retrying(call, what="test", timeout_s=10) == 42
    assert call.calls == 2


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.NOT_COORDINATOR,
        KafkaError._TIMED_OUT,
        KafkaError._DESTROY_BROKER,
        KafkaError._UNKNOWN_PARTITION,
    ],
)
def test_a_retriable_error_that_persists_is_raised_at_the_bound(code: int) -> None:
    """A retriable error that does not pass is asked again until the time bound, no longer,
    and then raised as it came."""
    call = Failing(KafkaError(code))
    started = time.monotonic()
    with pytest.raises(KafkaException) as raised:
        retrying(call, what="test", timeout_s=BOUND_S)
    elapsed = time.monotonic() - started
    assert raised.value.args[0].code() == code
    assert BOUND_S <= elapsed < BOUND_S + 0.5
    assert call.calls >= 3


@pytest.mark.parametrize(
    "error",
    [
        KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED),
        KafkaError(KafkaError.INVALID_REPLICATION_FACTOR),
        KafkaError(KafkaError._INVALID_ARG),
        KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION, fatal=True),
    ],
    ids=["authorization", "replication-factor", "invalid-arg", "fatal"],
)
def test_a_non_retriable_error_is_raised_at_once(error: KafkaError) -> None:
    """An error no retry will cure, or any fatal one, is raised on the first call."""
    call = Failing(error)
    with pytest.raises(KafkaException) as raised:
        retrying(call, what="test", timeout_s=10)
    assert raised.value.args[0] is error
    assert call.calls == 1


def test_an_error_librdkafka_marks_retriable_is_retried() -> None:
    """A code outside the list is retried when the error itself says it is retriable."""
    call = Failing(KafkaError(KafkaError._FAIL, retriable=True), times=2)
    assert retrying(call, what="test", timeout_s=10) == 42
    assert call.calls == 3


def test_on_error_may_stop_the_retries() -> None:
    """``on_error`` sees each error first and can raise a clearer one in its place."""
    seen: list[int] = []

    def on_error(error: KafkaError) -> None:
        seen.append(error.code())
        if len(seen) == 2:
            raise ConfigError("wrong credentials")

    call = Failing(KafkaError(KafkaError._TIMED_OUT))
    with pytest.raises(ConfigError):
        retrying(call, what="test", timeout_s=10, on_error=on_error)
    assert seen == [KafkaError._TIMED_OUT] * 2


def test_other_exceptions_pass_through() -> None:
    """Only Kafka errors are retried."""
    calls = 0

    def call() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("not Kafka")

    with pytest.raises(ValueError, match="not Kafka"):
        retrying(call, what="test", timeout_s=10)
    assert calls == 1
