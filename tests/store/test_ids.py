"""Row ids: random version-4 UUIDs, never the same twice, not even across a fork."""

from __future__ import annotations

import os
import uuid

from sesame.store.ids import new_id


def test_ids_are_version_4_uuids_as_uuid4_writes_them() -> None:
    ids = [new_id() for _ in range(5_000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_hand_out_its_parents_ids() -> None:
    new_id()  # the pool now holds ids the child would inherit
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next ids and leave at once
        os.close(read_end)
        os.write(write_end, " ".join(new_id() for _ in range(300)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {new_id() for _ in range(300)}
    assert len(child) == 300 and not child & parent
