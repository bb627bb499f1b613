"""SqlArtifacts: the ArtifactStore protocol (store/artifacts.py) in SQL, mixed into SqlStore."""

from __future__ import annotations

import dataclasses
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model.artifacts import Artifact, check_progress
from mainspring.store.artifacts import ArtifactStore
from mainspring.store.sql.schema import artifact

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend

_NEWEST_FIRST = (artifact.c.created.desc(), artifact.c.id.desc())


def _artifact(row: Any) -> Artifact:
    return Artifact(
        id=row.id,
        type=row.type,
        data=row.data,
        key=row.key,
        description=row.description,
        flow_run_id=row.flow_run_id,
        task_run_id=row.task_run_id,
        created=float(row.created),
        updated=float(row.updated),
    )


class SqlArtifacts(ArtifactStore):
    if TYPE_CHECKING:
        _backend: SqlBackend

        def _transaction(self, what: str) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def create_artifact(self, artifact_in: Artifact) -> Artifact:
        now = time.time()
        stored = dataclasses.replace(
            artifact_in,
            created=artifact_in.created or now,
            updated=artifact_in.updated or artifact_in.created or now,
        )
        with self._transaction("create an artifact") as conn:
            inserted = conn.execute(
                self._backend.insert(artifact)
                .values(dataclasses.asdict(stored))
                .on_conflict_do_nothing()
                .returning(artifact.c.id)
            ).first()
        if inserted is None:
            raise ValueError(f"An artifact with id {stored.id!r} exists already")
        return stored

    def update_artifact(
        self, artifact_id: str, data: object, description: str | None = None
    ) -> Artifact:
        figure = check_progress(data)
        with self._transaction("update an artifact") as conn:
            row = conn.execute(sa.select(artifact).where(artifact.c.id == artifact_id)).first()
            if row is None:
                raise ObjectNotFound(f"No artifact {artifact_id!r}")
            if row.type != "progress":
                raise ValueError(
                    f"Only progress artifacts are updated in place; {artifact_id!r} is a "
                    f"{row.type} artifact"
                )
            values: dict[str, Any] = {"data": figure, "updated": time.time()}
            if description is not None:
                values["description"] = description
            conn.execute(sa.update(artifact).where(artifact.c.id == artifact_id).values(values))
            row = conn.execute(sa.select(artifact).where(artifact.c.id == artifact_id)).one()
        return _artifact(row)

    def read_artifact(self, artifact_id: str) -> Artifact:
        with self._read() as conn:
            row = conn.execute(sa.select(artifact).where(artifact.c.id == artifact_id)).first()
        if row is None:
            raise ObjectNotFound(f"No artifact {artifact_id!r}")
        return _artifact(row)

    def read_artifacts(
        self,
        *,
        key: str | None = None,
        flow_run_id: str | None = None,
        task_run_id: str | None = None,
        type: str | None = None,
        latest_only: bool = False,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Artifact]:
        c = artifact.c
        conditions = [
            column == value
            for column, value in (
                (c.key, key),
                (c.flow_run_id, flow_run_id),
                (c.task_run_id, task_run_id),
                (c.type, type),
            )
            if value is not None
        ]
        source: Any = artifact
        if latest_only:
            # Each key's newest version: a window over the key (an unkeyed artifact is a
            # series of one, partitioned by its own id).
            series = sa.case((c.key.is_(None), c.id), else_=c.key)
            rank = sa.func.row_number().over(partition_by=series, order_by=_NEWEST_FIRST)
            ranked = sa.select(artifact, rank.label("rank")).where(*conditions).subquery()
            query = (
                sa.select(ranked)
                .where(ranked.c.rank == 1)
                .order_by(ranked.c.created.desc(), ranked.c.id.desc())
            )
        else:
            query = sa.select(source).where(*conditions).order_by(*_NEWEST_FIRST)
        with self._read() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [_artifact(r) for r in rows]

    def delete_artifact(self, artifact_id: str) -> None:
        with self._transaction("delete an artifact") as conn:
            deleted = conn.execute(sa.delete(artifact).where(artifact.c.id == artifact_id))
        if not deleted.rowcount:
            raise ObjectNotFound(f"No artifact {artifact_id!r}")
