"""Global concurrency limits from code, as in Prefect 3 (`prefect.concurrency`).

    from mainspring.concurrency.sync import concurrency, rate_limit   # or mainspring.concurrency
    from mainspring.concurrency.asyncio import concurrency, rate_limit  # in async code

    with concurrency("db", occupy=1, timeout_seconds=None):
        ...                          # at most `limit` of these blocks run at once, anywhere
    rate_limit("api")                # waits until the limit's decaying slots allow one more

Limits live in the store, so they hold across processes and machines sharing it (the SQLite
file, PostgreSQL, or a server): create them with `mainspring global-concurrency-limit create
NAME --limit N [--slot-decay-per-second X]`. A name that is no limit limits nothing and logs
a warning once (as Prefect 3 does by default); `strict=True` makes it an error
(`ConcurrencyLimitNotFound`). Waiting longer than `timeout_seconds` raises
`ConcurrencySlotTimeout`, a TimeoutError. A slot held by a process that dies is freed when
its lease expires (MAINSPRING_CONCURRENCY_LEASE_SECONDS, 30 s by default).
"""

from mainspring.concurrency.sync import concurrency, rate_limit

__all__ = ["concurrency", "rate_limit"]
