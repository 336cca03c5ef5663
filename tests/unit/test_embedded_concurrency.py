"""serve runs a function's events side by side as Lambda would, each in a container of its
own (its own copy of the handler module), and refuses when all are busy (issue 17)."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from quaywatch.adapters.local.database import Database
from quaywatch.runtime.embedded import functions as embedded
from quaywatch.runtime.embedded.functions import FunctionBusy, Functions

from tests.support import barrier_handler


class OneFunction:
    """The part of a Template that Functions reads."""

    def functions(self) -> dict:
        return {"Barrier": {"Properties": {"Handler": "tests.support.barrier_handler.handler"}}}


@pytest.fixture(autouse=True)
def no_barrier():
    yield
    barrier_handler.BARRIER.clear()


def test_events_run_side_by_side_each_with_its_own_module_state() -> None:
    functions = Functions(OneFunction(), concurrency=4)  # type: ignore[arg-type]
    barrier_handler.BARRIER.append(threading.Barrier(4))  # broken unless four run at once
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: functions.invoke("Barrier", {"n": n}), range(4)))
    assert [r["n"] for r in results] == [0, 1, 2, 3]  # no event saw another's state
    assert len({r["module"] for r in results}) == 4 and {r["function"] for r in results} == {"Barrier"}
    barrier_handler.BARRIER.clear()
    again = functions.invoke("Barrier", {"n": 9})  # an idle container is used again, not a fifth
    assert again["module"] in {r["module"] for r in results}


def test_all_containers_busy_is_refused_after_the_wait(monkeypatch) -> None:
    monkeypatch.setattr(embedded, "BUSY_WAIT_SECONDS", 0.2)
    functions = Functions(OneFunction(), concurrency=2)  # type: ignore[arg-type]
    barrier_handler.BARRIER.append(threading.Barrier(3))  # the two running wait for a third
    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(functions.invoke, "Barrier", {"n": n}) for n in range(2)]
        with pytest.raises(FunctionBusy, match="2 requests in progress"):
            functions.invoke("Barrier", {"n": 2})
        barrier_handler.BARRIER[0].abort()  # let the two go (their barrier breaks)
        for future in running:
            with pytest.raises(threading.BrokenBarrierError):
                future.result()
    barrier_handler.BARRIER.clear()
    assert functions.invoke("Barrier", {"n": 3})["n"] == 3  # the containers came back


def test_the_connection_pool_stays_bounded_whatever_the_threads(tmp_path) -> None:
    db = Database(tmp_path / "q.db", pool_size=4)
    with db.write() as transaction:
        transaction.execute("CREATE TABLE t (n INTEGER)")

    def one_thread(n: int) -> None:
        with db.write() as transaction:
            transaction.execute("INSERT INTO t VALUES (?)", (n,))
            assert db.read_one("SELECT COUNT(*) AS c FROM t WHERE n = ?", (n,))["c"] == 1  # its own write, unseen by others yet
        assert db.read_one("SELECT COUNT(*) AS c FROM t")["c"] >= 1

    threads = [threading.Thread(target=one_thread, args=(n,)) for n in range(500)]  # each thread once, as the gateway does
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.read_one("SELECT COUNT(*) AS c FROM t")["c"] == 500
    assert db.open_connections <= 4
    db.close()
    assert db.open_connections == 0


def test_a_failed_transaction_gives_back_a_clean_connection(tmp_path) -> None:
    db = Database(tmp_path / "q.db", pool_size=1)
    with db.write() as transaction:
        transaction.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    with pytest.raises(sqlite3.IntegrityError), db.write() as transaction:
        transaction.execute("INSERT INTO t VALUES (1)")
        transaction.execute("INSERT INTO t VALUES (1)")
    with db.write() as transaction:  # the one connection is usable: no transaction left open on it
        transaction.execute("INSERT INTO t VALUES (2)")
    assert [row["n"] for row in db.read("SELECT n FROM t")] == [2]
    db.close()
