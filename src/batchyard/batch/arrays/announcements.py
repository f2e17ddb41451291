"""State changes of array children that have no row of their own.

A child without a row changes state with its parent alone: PENDING when the parent turns
PENDING, RUNNABLE when the array is released, FAILED when the array is cancelled, terminated
or its dependency failed. Those changes are announced like any other, once each, with the
child's DescribeJobs document. The documents are built only while they are published, from
one copy of the parent taken in the write, so a 10,000-child array costs no row and no
10,000 documents held at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from batchyard.aws.documents import copy_json
from batchyard.batch.arrays import children
from batchyard.batch.jobs.records import JobRecord


@dataclass(frozen=True)
class ChildChanges:
    """The children of one array, except ``stored``, entering the state their parent's
    record implies at the moment this was taken."""

    parent: dict[str, Any]
    runtime: dict[str, Any]
    size: int
    stored: frozenset[int]

    @classmethod
    def of(cls, record: JobRecord, stored: frozenset[int]) -> ChildChanges:
        """The rowless children of the array ``record`` as it is now."""
        return cls(
            copy_json(record.document),
            {"array": children.array_state(record.runtime)},
            children.size_of(record.document) or 0,
            stored,
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Each child's document, shaped as DescribeJobs shows a child (``index`` alone)."""
        parent, runtime, stored = self.parent, self.runtime, self.stored
        for index in range(self.size):
            if index in stored:
                continue
            child = children.document(parent, runtime, index)
            child["arrayProperties"] = {"index": index}
            yield child
