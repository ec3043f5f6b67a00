#!/usr/bin/env python3
"""Second-client smoke test: pymongo against a MongoDB (mongolocal by default).

Usage: smoke.py MONGODB_URI

Runs CRUD, an update_many fan-out, count_documents, a change stream with
full_document='updateLookup', and resuming by token with a new client.
Prints one line per check and a final "N passed, M failed"; the exit status
is 0 only when every check passed.
"""

import sys
import time
import traceback
import uuid

from pymongo import MongoClient, ReturnDocument
from pymongo.errors import PyMongoError

TIMEOUT_S = 20


def connect(uri):
    client = MongoClient(uri, serverSelectionTimeoutMS=TIMEOUT_S * 1000)
    client.admin.command("ping")
    return client


def next_events(stream, n, timeout_s=TIMEOUT_S):
    """Reads n events from a change stream, failing after timeout_s."""
    events = []
    deadline = time.monotonic() + timeout_s
    while len(events) < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"got {len(events)} of {n} change events in {timeout_s}s")
        event = stream.try_next()
        if event is not None:
            events.append(event)
    return events


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


def check_crud(db):
    coll = db.crud
    res = coll.insert_one({"_id": 1, "name": "ada", "tags": ["x"]})
    expect(res.inserted_id == 1, f"inserted_id {res.inserted_id!r}")
    coll.insert_many([{"_id": i, "name": f"user{i}", "n": i} for i in range(2, 12)])
    expect(coll.find_one({"_id": 1})["name"] == "ada", "find_one after insert")

    names = [d["name"] for d in coll.find({"n": {"$gte": 5}}).sort("n", -1).limit(3)]
    expect(names == ["user11", "user10", "user9"], f"find/sort/limit gave {names}")

    res = coll.update_one({"_id": 1}, {"$set": {"name": "ada l."}, "$push": {"tags": "y"}})
    expect(res.matched_count == 1 and res.modified_count == 1, "update_one counts")
    doc = coll.find_one({"_id": 1})
    expect(doc["name"] == "ada l." and doc["tags"] == ["x", "y"], f"after update_one: {doc}")

    res = coll.replace_one({"_id": 2}, {"name": "replaced"})
    expect(res.modified_count == 1, "replace_one count")
    expect(coll.find_one({"_id": 2}) == {"_id": 2, "name": "replaced"}, "after replace_one")

    doc = coll.find_one_and_update(
        {"_id": 3}, {"$inc": {"n": 100}}, return_document=ReturnDocument.AFTER)
    expect(doc["n"] == 103, f"find_one_and_update returned {doc}")

    res = coll.update_one({"_id": 99}, {"$set": {"name": "upserted"}}, upsert=True)
    expect(res.upserted_id == 99, f"upsert id {res.upserted_id!r}")

    res = coll.delete_one({"_id": 4})
    expect(res.deleted_count == 1, "delete_one count")
    expect(coll.find_one({"_id": 4}) is None, "deleted document still found")

    try:
        coll.insert_one({"_id": 1})
        raise AssertionError("duplicate _id accepted")
    except PyMongoError as err:
        expect(getattr(err, "code", None) == 11000, f"duplicate key error code: {err}")


def check_update_many(db):
    coll = db.fanout
    coll.insert_many([{"_id": i, "author": "a" if i % 3 else "b", "count": 0} for i in range(300)])
    res = coll.update_many({"author": "a"}, {"$set": {"authorName": "Alice"}, "$inc": {"count": 1}})
    expect(res.matched_count == 200, f"matched {res.matched_count}")
    expect(res.modified_count == 200, f"modified {res.modified_count}")
    expect(coll.count_documents({"authorName": "Alice", "count": 1}) == 200, "fan-out not applied")
    expect(coll.count_documents({"author": "b", "authorName": {"$exists": True}}) == 0,
           "fan-out touched other documents")


def check_count_documents(db):
    coll = db.counting
    coll.insert_many([{"_id": i, "even": i % 2 == 0} for i in range(25)])
    expect(coll.count_documents({}) == 25, "count_documents({})")
    expect(coll.count_documents({"even": True}) == 13, "count_documents filter")
    expect(coll.count_documents({"even": True}, skip=3, limit=5) == 5, "count_documents skip/limit")
    expect(coll.count_documents({"missing": 1}) == 0, "count_documents no match")
    expect(coll.estimated_document_count() == 25, "estimated_document_count")


def check_change_stream(db):
    coll = db.stream
    with coll.watch(full_document="updateLookup", max_await_time_ms=200) as stream:
        coll.insert_one({"_id": "s1", "v": 1})
        coll.update_one({"_id": "s1"}, {"$set": {"v": 2}})
        coll.update_one({"_id": "s1"}, {"$set": {"v": 3}})
        coll.delete_one({"_id": "s1"})
        events = next_events(stream, 4)
    kinds = [e["operationType"] for e in events]
    expect(kinds == ["insert", "update", "update", "delete"], f"operation types {kinds}")
    expect(events[0]["fullDocument"] == {"_id": "s1", "v": 1}, "insert fullDocument")
    expect(events[1]["updateDescription"]["updatedFields"] == {"v": 2}, "updateDescription")
    # updateLookup returns the document as it is at lookup time: by now it is
    # deleted, or (if the event was read earlier) a version at least as new.
    for e in events[1:3]:
        full = e.get("fullDocument", "absent")
        expect(full is None or (isinstance(full, dict) and full["v"] >= 2),
               f"updateLookup fullDocument {full!r}")
    expect(events[3]["documentKey"] == {"_id": "s1"}, "delete documentKey")
    expect(all("_data" in e["_id"] for e in events), "resume tokens")


def check_resume_after_reconnect(uri, db_name):
    first = connect(uri)
    coll = first[db_name].resume
    with coll.watch(max_await_time_ms=200) as stream:
        coll.insert_one({"_id": 1})
        token = next_events(stream, 1)[0]["_id"]
    first.close()

    second = connect(uri)
    try:
        coll = second[db_name].resume
        coll.insert_many([{"_id": 2}, {"_id": 3}])
        with coll.watch(resume_after=token, max_await_time_ms=200) as stream:
            ids = [e["documentKey"]["_id"] for e in next_events(stream, 2)]
            expect(ids == [2, 3], f"resumed events {ids}")
            coll.insert_one({"_id": 4})
            ids = [e["documentKey"]["_id"] for e in next_events(stream, 1)]
            expect(ids == [4], f"live event after resume {ids}")
            # The cached token keeps moving, so a later resume starts here.
            expect(stream.resume_token is not None, "resume_token")
    finally:
        second.close()


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    uri = argv[1]
    db_name = "smoke_" + uuid.uuid4().hex[:8]
    try:
        client = connect(uri)
    except PyMongoError as err:
        print(f"FAIL connect to {uri}: {err}")
        print("0 passed, 1 failed")
        return 1
    db = client[db_name]
    checks = [
        ("crud", lambda: check_crud(db)),
        ("update_many fan-out", lambda: check_update_many(db)),
        ("count_documents", lambda: check_count_documents(db)),
        ("change stream with updateLookup", lambda: check_change_stream(db)),
        ("resume by token after reconnecting", lambda: check_resume_after_reconnect(uri, db_name)),
    ]
    passed = failed = 0
    for name, check in checks:
        try:
            check()
        except Exception:  # report every failure, keep going
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(limit=3, file=sys.stdout)
        else:
            passed += 1
            print(f"PASS {name}")
    try:
        client.drop_database(db_name)
    finally:
        client.close()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
