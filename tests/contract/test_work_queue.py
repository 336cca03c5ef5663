"""Contract: the work queue has SQS's semantics (at-least-once, visibility timeout,
acknowledgement, receive counts, dead letters after maxReceiveCount = 5 in template.yaml)."""

from __future__ import annotations

import time


def test_send_receive_ack(adapters) -> None:
    queue = adapters.import_queue
    queue.send_many([f"m{n}" for n in range(12)])
    queue.send("last")
    seen: list[str] = []
    while batch := queue.receive(5, visibility_timeout=30):
        assert len(batch) <= 5
        for message in batch:
            assert message.receive_count == 1
            seen.append(message.body)
            queue.ack(message)
    assert sorted(seen) == sorted([f"m{n}" for n in range(12)] + ["last"])
    assert queue.depth() == 0


def test_invisible_while_in_flight_then_redelivered(adapters) -> None:
    queue = adapters.import_queue
    queue.send("job")
    (first,) = queue.receive(1, visibility_timeout=1)
    assert first.body == "job"
    assert queue.receive(1, visibility_timeout=1) == []  # in flight: nobody else gets it
    assert queue.depth() == 1  # but it is not lost
    time.sleep(1.3)
    (again,) = queue.receive(1, visibility_timeout=30)
    assert (again.body, again.receive_count) == ("job", 2)
    queue.ack(again)
    assert queue.depth() == 0


def test_retry_later_makes_it_visible_after_the_delay(adapters) -> None:
    queue = adapters.import_queue
    queue.send("flaky")
    (message,) = queue.receive(1, visibility_timeout=30)
    queue.retry_later(message, 0)
    (again,) = queue.receive(1, visibility_timeout=30)
    assert again.receive_count == 2
    queue.retry_later(again, 1)
    assert queue.receive(1, visibility_timeout=30) == []
    time.sleep(1.3)
    assert queue.receive(1, visibility_timeout=30)[0].receive_count == 3


def test_dead_letter_after_max_receives(adapters) -> None:
    queue = adapters.import_queue
    queue.send("poison")
    queue.send("fine")
    deliveries = 0
    for _ in range(8):
        for message in queue.receive(10, visibility_timeout=0):
            if message.body == "poison":
                deliveries += 1
            else:
                queue.ack(message)
    assert deliveries == 5  # maxReceiveCount, then the dead-letter queue
    assert queue.dead_letters() == ["poison"]
    assert queue.depth() == 0


def test_queues_are_separate(adapters) -> None:
    adapters.import_queue.send("import")
    adapters.retest_queue.send("retest")
    (message,) = adapters.retest_queue.receive(10, visibility_timeout=30)
    assert message.body == "retest"
