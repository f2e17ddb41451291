"""The store commits each accepted write, in groups, and isolates a failing write."""

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from batchyard.store import Store

probe = sa.Table("probe", sa.MetaData(), sa.Column("k", sa.String, primary_key=True))


def make_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.engine.begin() as conn:
        probe.create(conn, checkfirst=True)
    return store


def test_wal_mode_is_on(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    mode = store.read_sync(lambda c: c.exec_driver_sql("PRAGMA journal_mode").scalar())
    assert mode == "wal"
    store.close()


def test_concurrent_writes_all_commit_and_survive_reopen(tmp_path: Path) -> None:
    store = make_store(tmp_path)

    async def main() -> list[int]:
        async def put(i: int) -> int:
            await store.write(lambda c: c.execute(probe.insert().values(k=f"k{i}")))
            return i

        return await asyncio.gather(*(put(i) for i in range(500)))

    assert len(asyncio.run(main())) == 500
    store.close()
    reopened = make_store(tmp_path)
    count_rows = sa.select(sa.func.count()).select_from(probe)
    count = reopened.read_sync(lambda c: c.execute(count_rows).scalar())
    assert count == 500
    reopened.close()


def test_a_failing_write_rolls_back_alone(tmp_path: Path) -> None:
    store = make_store(tmp_path)

    def bad(conn: sa.Connection) -> None:
        conn.execute(probe.insert().values(k="half-done"))
        raise ValueError("rejected")

    async def main() -> None:
        results = await asyncio.gather(
            store.write(lambda c: c.execute(probe.insert().values(k="a"))),
            store.write(bad),
            store.write(lambda c: c.execute(probe.insert().values(k="b"))),
            return_exceptions=True,
        )
        assert isinstance(results[1], ValueError)
        assert not isinstance(results[0], Exception) and not isinstance(results[2], Exception)

    asyncio.run(main())
    keys = store.read_sync(lambda c: sorted(r.k for r in c.execute(sa.select(probe))))
    assert keys == ["a", "b"]
    store.close()


def test_a_write_result_is_returned(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert asyncio.run(store.write(lambda c: 42)) == 42
    with pytest.raises(ZeroDivisionError):
        asyncio.run(store.write(lambda c: 1 / 0))
    store.close()
