"""Errors of the store never quote the values of a statement: they are shown by the CLI and
logged by the server, and values can be secrets (a flow's password parameter, a key hash)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mainspring.model import new_id
from mainspring.store.sql import SqlStore
from mainspring.store.sql.schema import api_key

SECRET = "hunter2-in-a-parameter"


def test_sql_errors_do_not_quote_parameters(store: SqlStore) -> None:
    row = {
        "id": new_id(),
        "name": "ci",
        "salt": "00",
        "key_hash": SECRET,
        "read_only": False,
        "created": 0.0,
    }
    with pytest.raises(sa.exc.IntegrityError) as duplicate, store.engine().begin() as conn:
        conn.execute(sa.insert(api_key), [row, {**row, "id": new_id()}])
    assert "api_key" in str(duplicate.value) and SECRET not in str(duplicate.value)
