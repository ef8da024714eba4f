"""Waiting out the broker errors that pass by themselves, within a bounded time.

A topic created a moment ago has no partition leader yet, a group coordinator that moves
answers "not coordinator" until the client finds the new one, and a broker under load lets
a request time out. Such an error says "ask again shortly", not "stop the run". Every
metadata, offset and topic-creation call the monitor makes on start-up and on assign goes
through :func:`retrying`, which asks again with short pauses until the call succeeds, the
error is one that no retry will cure, or the time bound has passed; then the last error is
raised as it came.

Transactional calls have their own rules (``stream_monitor.stream.transactions``): there a
retriable error may still require an abort.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

log = logging.getLogger("stream_monitor.kafka")

T = TypeVar("T")

#: How long one call is asked again, in total, before its error is raised.
RETRY_TIMEOUT_S = 30.0
FIRST_PAUSE_S = 0.1
MAX_PAUSE_S = 1.0

#: Errors that pass by themselves. librdkafka marks some errors retriable itself
#: (``KafkaError.retriable()``), but not the ones a synchronous metadata or offset call
#: raises, so they are named here.
RETRIABLE_CODES = frozenset(
    {
        # A partition of a new topic, or one whose leader moves, has no leader for a moment.
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        # A topic created a moment ago is unknown to a broker until its metadata arrives.
        # Every topic the monitor names in these calls was checked or created at start-up.
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        # The group coordinator moved, is loading the group, or is not known yet.
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError._WAIT_COORD,
        # A transaction holds offsets that are not committed yet.
        KafkaError.UNSTABLE_OFFSET_COMMIT,
        # The broker is slow or restarting (a busy CPU, a broker restart).
        KafkaError._TIMED_OUT,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        # A broker's connection was torn down mid-call (it was killed or restarted); the
        # client reconnects. A broker restart stopped the run on this before.
        KafkaError._DESTROY_BROKER,
        # Just after a broker restart the client has not refetched the topic's metadata
        # yet, and its partitions are unknown locally for a moment. Every partition the
        # monitor names in these calls was assigned to it or checked at start-up; a broker
        # restart stopped an exactly-once run on this in a fresh-clone test run.
        KafkaError._UNKNOWN_PARTITION,
        KafkaError.NOT_CONTROLLER,
    }
)


def is_retriable(error: KafkaError) -> bool:
    """Whether asking again may succeed: never for a fatal error.

    >>> is_retriable(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
    True
    >>> is_retriable(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    False
    """
    if error.fatal():
        return False
    return bool(error.retriable()) or error.code() in RETRIABLE_CODES


def retrying(
    call: Callable[[], T],
    *,
    what: str,
    timeout_s: float = RETRY_TIMEOUT_S,
    on_error: Callable[[KafkaError], None] | None = None,
) -> T:
    """``call()``, asked again while it raises a retriable :class:`KafkaException`.

    Pauses start at 0.1 s and double up to 1 s; no pause ends past ``timeout_s`` from the
    first call, after which the last error is raised. (So the total time is at most
    ``timeout_s`` plus one call's own timeout.) A non-retriable error is raised at once.
    ``on_error``, given each error first, may raise another exception instead (e.g. when
    the error callback names a failed authentication, which the call reports as a time-out).
    ``what`` names the call in the log line of each retry.
    """
    deadline = time.monotonic() + timeout_s
    pause = FIRST_PAUSE_S
    while True:
        try:
            return call()
        except KafkaException as error:
            err = error.args[0] if error.args else None
            if not isinstance(err, KafkaError):
                raise
            if on_error is not None:
                on_error(err)
            left = deadline - time.monotonic()
            if not is_retriable(err) or left <= 0:
                raise
            log.info(f"{what}: broker not ready, asking again", extra={"code": err.name()})
            time.sleep(min(pause, left))
            pause = min(2 * pause, MAX_PAUSE_S)
