"""The outbox: written in the caller's transaction, idempotent by message id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hall.relay.outbox import enqueue
from hall.store.db import Database


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    d = Database(tmp_path / "o.db")
    yield d
    d.close()


def rows(db: Database) -> list[dict]:
    return [dict(r) for r in db.conn.execute("SELECT * FROM outbox ORDER BY id")]


def test_enqueue_commits_with_the_record(db: Database) -> None:
    with db.write() as c:
        enqueue(c, kind="case", message_id="H1:case:1:1", order_key="case:1", payload={"name": "张三", "n": 1})
    (row,) = rows(db)
    assert row["state"] == "pending" and row["kind"] == "case" and row["order_key"] == "case:1"
    assert json.loads(row["payload"]) == {"name": "张三", "n": 1}
    assert "+08:00" in row["created_at"]


def test_enqueue_rolls_back_with_the_record(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as c:
        enqueue(c, kind="rating", message_id="H1:rating:7:1", order_key="ticket:7", payload={})
        raise RuntimeError("record write failed")
    assert rows(db) == []


def test_same_message_id_is_a_no_op(db: Database) -> None:
    for _ in range(3):
        with db.write() as c:
            enqueue(c, kind="case", message_id="H1:case:1:1", order_key="case:1", payload={"v": 1})
    assert len(rows(db)) == 1


@pytest.mark.parametrize("kwargs, exc", [
    ({"kind": "nonsense"}, ValueError),
    ({"message_id": ""}, ValueError),
    ({"message_id": "has space"}, ValueError),
    ({"order_key": ""}, ValueError),
    ({"payload": [1, 2]}, ValueError),
    ({"payload": {"x": object()}}, TypeError),
    ({"payload": {"x": float("nan")}}, ValueError),
])
def test_bad_messages_abort_the_transaction(db: Database, kwargs: dict, exc: type) -> None:
    args = {"kind": "case", "message_id": "H1:case:1:1", "order_key": "case:1", "payload": {}} | kwargs
    with pytest.raises(exc), db.write() as c:
        enqueue(c, **args)
    assert rows(db) == []
