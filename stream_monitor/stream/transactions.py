"""The transactional producer of exactly-once mode, with deadlines librdkafka cannot miss.

librdkafka's transactional calls take a timeout, but some of them do not always honour it:
``send_offsets_to_transaction`` waits for the group coordinator without a deadline when
that broker goes down (confluentinc/librdkafka#5456, #5511), and ``commit_transaction``
retries without a cap in some states. A monitor stuck in such a call stops consuming, its
consumer leaves the group and SIGTERM cannot get through. So every transactional call runs
in a helper thread that the caller waits for with its own deadline. When the deadline
passes, the producer is given up on: a new one with the same ``transactional.id`` is
created, and its ``init_transactions()`` fences the stuck one and aborts its open
transaction on the broker. The caller then rewinds to its last commit, as after any abort.

Errors follow librdkafka's classes: a retriable error repeats the call; an abortable one (or
a retriable one that keeps failing) aborts the transaction, and the caller rewinds. A fatal
one ("fenced by a newer instance") has two causes that librdkafka reports alike: the broker
aborted a transaction that outlived ``transaction.timeout.ms`` (a broker outage does that),
or another live instance has the same ``instance_id``. The first is told by the age of the
open transaction, and a new producer carries on; the second stops the run.

An abort, ours or the broker's, can leave a partition's aborted records open (the broker
skips the marker of a partition that has no leader just then), for our next commit there
to publish. So the first transaction after ``init_transactions`` and after every abort is
preceded by a sweep (``sweep``), an aborted transaction over every output partition; and
the caller runs one (``sweep_now``) before it reads newly assigned partitions' offsets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

log = logging.getLogger("stream_monitor.transactions")

T = TypeVar("T")

# How long librdkafka may take for one transactional call, and how much longer we wait for it
# to return before giving the producer up.
CALL_TIMEOUT_S = 20.0
GRACE_S = 10.0
# Producers given up on stay referenced until the process ends (destroying one while its
# call is still blocked inside librdkafka is not safe); after this many the run stops, for
# the supervisor to restart it with a clean process.
MAX_STUCK = 5


class StuckError(Exception):
    """A transactional call did not return within its deadline."""


class TransactionAbortedError(Exception):
    """The open transaction was aborted: rewind to the last commit and process again."""


class FatalTransactionError(RuntimeError):
    """The producer cannot go on (fenced by another instance, or stuck too often)."""


def call_with_deadline(name: str, call: Callable[[], T], seconds: float) -> T:
    """Run ``call`` in a helper thread; its result, its exception, or :class:`StuckError`."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=target, name=f"kafka-{name}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise StuckError(f"{name} did not return within {seconds:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return cast(T, outcome.get("value"))


def _kafka_error(error: KafkaException) -> KafkaError:
    return error.args[0]  # type: ignore[no-any-return]


class TransactionalProducer:
    """A transactional producer that is replaced, not waited on, when librdkafka hangs."""

    def __init__(
        self,
        make: Callable[[], Producer],
        stopping: threading.Event,
        *,
        transaction_timeout_s: float,
        call_timeout_s: float = CALL_TIMEOUT_S,
        sweep: Callable[[Producer], None] | None = None,
    ) -> None:
        self.make = make
        self.sweep = sweep
        self.swept = sweep is None  # the sweep is due before the next transaction
        self.stopping = stopping
        self.timeout = call_timeout_s
        self.transaction_timeout = transaction_timeout_s
        self.producer = make()
        self.open = False
        self.begun = 0.0
        self.abandoned: list[Producer] = []
        self.stuck = 0

    def _call(self, name: str, call: Callable[[], object]) -> None:
        call_with_deadline(name, call, self.timeout + GRACE_S)

    def init(self) -> None:
        """``init_transactions``, repeated until the coordinator answers or the run stops.

        A restarted instance fences its dead predecessor here and aborts its open
        transaction. While the broker is down this waits; it gives up only on SIGTERM.
        """
        producer = self.producer
        while True:
            try:
                self._call("init_transactions", lambda: producer.init_transactions(self.timeout))
                return
            except KafkaException as error:
                err = _kafka_error(error)
                if not err.retriable():
                    raise FatalTransactionError(f"init_transactions failed: {err.str()}") from error
                log.warning("init_transactions: retrying", extra={"code": err.name()})
            except StuckError:
                log.warning("init_transactions: no answer yet, waiting")
            if self.stopping.wait(1.0):
                raise FatalTransactionError("stopped while waiting for the transaction coordinator")

    def begin(self) -> None:
        """Open a transaction if none is open (a local call: no broker round trip, unless
        the sweep is due first)."""
        if not self.open:
            if not self.swept:
                self._sweep()
            self.producer.begin_transaction()
            self.open = True
            self.begun = time.monotonic()

    def sweep_now(self) -> None:
        """Run the sweep now, in a transaction of its own, due or not (the caller has no
        transaction open): before newly assigned partitions' offsets and state are read."""
        if self.sweep is None:
            return
        if self.open:
            raise RuntimeError("sweep_now: a transaction is open")
        self.swept = False
        self._sweep()

    def _sweep(self) -> None:
        """Run the sweep in a transaction of its own and abort it; again until every
        record of it was acknowledged and the abort went through on the same producer, or
        the run stops."""
        assert self.sweep is not None
        while not self.swept:
            producer = self.producer
            producer.begin_transaction()
            self.open = True
            self.begun = time.monotonic()
            try:
                self.sweep(producer)
                done = True
            except KafkaException as error:
                log.warning(
                    "sweep failed, sweeping again", extra={"code": _kafka_error(error).name()}
                )
                done = False
            except StuckError as error:
                log.error("sweep stuck, replacing the producer", extra={"call": str(error)})
                self.replace(stuck=True)  # its init aborts the stuck one's transaction
                if self.stopping.wait(1.0):
                    raise FatalTransactionError(
                        "stopped while sweeping the output partitions"
                    ) from error
                continue
            self.abort()  # due again after this abort, unless the sweep is done
            if done and self.producer is producer:
                self.swept = True
            elif self.stopping.wait(1.0):
                raise FatalTransactionError("stopped while sweeping the output partitions")

    def recover_from_fatal(self, reason: str) -> None:
        """After a fatal error: go on with a new producer if the open transaction outlived
        ``transaction.timeout.ms`` (the broker then aborts it by bumping the producer epoch,
        which librdkafka reports as being fenced, e.g. after a broker outage); otherwise a
        newer instance with our transactional id fenced us, and the run must stop.
        """
        if not (self.open and time.monotonic() - self.begun >= self.transaction_timeout):
            raise FatalTransactionError(reason)
        log.warning("the broker aborted a transaction that timed out; new producer")
        self.replace()

    def commit(self, groups: list[tuple[list[TopicPartition], object]]) -> None:
        """Add each consumer group's offsets (with its group metadata) to the open
        transaction and commit it.

        Raises :class:`TransactionAbortedError` when it could not commit: the transaction is
        aborted by then (or its producer replaced) and the caller must rewind.
        """
        producer = self.producer
        try:
            for offsets, group_metadata in groups:
                if not offsets:
                    continue
                self._retrying(
                    "send_offsets_to_transaction",
                    lambda o=offsets, g=group_metadata: producer.send_offsets_to_transaction(  # type: ignore[misc]
                        o, g, self.timeout
                    ),
                )
            self._retrying("commit_transaction", lambda: producer.commit_transaction(self.timeout))
            self.open = False
        except KafkaException as error:
            err = _kafka_error(error)
            if err.fatal():
                self.recover_from_fatal(f"transaction failed: {err.str()}")
            else:
                log.warning("commit failed, aborting", extra={"code": err.name()})
                self.abort()
            raise TransactionAbortedError(err.name()) from error
        except StuckError as error:
            log.error(
                "transactional call stuck, replacing the producer", extra={"call": str(error)}
            )
            self.replace(stuck=True)
            raise TransactionAbortedError(str(error)) from error

    def abort(self) -> None:
        """Abort the open transaction; replace the producer if even that does not work."""
        producer = self.producer
        try:
            self._retrying("abort_transaction", lambda: producer.abort_transaction(self.timeout))
        except KafkaException as error:
            err = _kafka_error(error)
            if err.fatal():
                self.recover_from_fatal(f"abort failed: {err.str()}")
            else:
                log.warning("abort failed, replacing the producer", extra={"code": err.name()})
                self.replace()
        except StuckError as error:
            log.error("abort stuck, replacing the producer", extra={"call": str(error)})
            self.replace(stuck=True)
        self.open = False
        self.swept = self.sweep is None

    def replace(self, *, stuck: bool = False) -> None:
        """Give the current producer up; a new one fences it and aborts its transaction."""
        self.abandoned.append(self.producer)
        self.stuck += stuck
        if self.stuck > MAX_STUCK:
            raise FatalTransactionError(
                f"the transactional producer got stuck {self.stuck} times; stopping for a restart"
            )
        self.producer = self.make()
        self.open = False
        self.swept = self.sweep is None
        self.init()

    def _retrying(self, name: str, call: Callable[[], object], attempts: int = 3) -> None:
        for attempt in range(attempts):
            try:
                self._call(name, call)
                return
            except KafkaException as error:
                err = _kafka_error(error)
                if not err.retriable() or err.txn_requires_abort() or attempt == attempts - 1:
                    raise
                log.warning(f"{name}: retrying", extra={"code": err.name()})
                time.sleep(0.5 * (attempt + 1))
