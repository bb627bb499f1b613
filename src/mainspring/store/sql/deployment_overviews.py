"""SqlDeploymentOverviews: the DeploymentOverviews protocol (store/deployment_overviews.py) in
SQL, mixed into SqlStore. Counts are grouped in the database; only the deployments a page
names are read (and checked) as Deployments."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import sqlalchemy as sa

from mainspring.model.deployments import Deployment
from mainspring.store.base import check_page
from mainspring.store.deployment_overviews import DeploymentOverviews
from mainspring.store.sql.deployment_rows import deployment_from_row
from mainspring.store.sql.dialect import like_escaped
from mainspring.store.sql.scheduling import chunks
from mainspring.store.sql.schema import deployment, flow_run


class SqlDeploymentOverviews(DeploymentOverviews):
    """Needs SqlStore's `_read` (a connection for reading)."""

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def read_deployments_by_id(self, ids: Sequence[str]) -> dict[str, Deployment]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Deployment] = {}
        with self._read() as conn:
            for ids in chunks(wanted):
                query = sa.select(deployment).where(deployment.c.id.in_(ids))
                found.update((d.id, d) for d in map(deployment_from_row, conn.execute(query)))
        return found

    def read_deployments_page(self, offset: int, limit: int) -> tuple[int, list[Deployment]]:
        check_page(limit, offset)
        d = deployment.c
        query = sa.select(deployment).order_by(d.flow_name, d.name).limit(limit).offset(offset)
        with self._read() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(deployment)).scalar()
            return int(total or 0), [deployment_from_row(r) for r in conn.execute(query)]

    def read_pool_deployments(self, pool_name: str) -> list[Deployment]:
        d = deployment.c
        query = (
            sa.select(deployment).where(d.work_pool_name == pool_name).order_by(d.flow_name, d.name)
        )
        with self._read() as conn:
            return [deployment_from_row(r) for r in conn.execute(query)]

    def find_deployments(self, text: str, limit: int) -> list[Deployment]:
        d = deployment.c
        label = sa.func.lower(d.flow_name + "/" + d.name)
        query = (
            sa.select(deployment)
            .where(label.like(f"%{like_escaped(text.lower())}%", escape="\\"))
            .order_by(d.flow_name, d.name)
            .limit(max(0, limit))
        )
        with self._read() as conn:
            return [deployment_from_row(r) for r in conn.execute(query)]

    def count_deployments_by_flow(self) -> dict[str, int]:
        return dict(self._grouped(deployment.c.flow_name))

    def count_deployments_by_pool(self) -> dict[str, int]:
        return dict(self._grouped(deployment.c.work_pool_name))

    def _grouped(self, column: sa.Column[str]) -> Iterator[tuple[str, int]]:
        query = sa.select(column, sa.func.count()).where(column.is_not(None)).group_by(column)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return ((key, int(n)) for key, n in rows)

    def count_pool_runs(self, state_types: Sequence[str]) -> dict[str, int]:
        d, r = deployment.c, flow_run.c
        query = (
            sa.select(d.work_pool_name, sa.func.count())
            .select_from(flow_run.join(deployment, d.id == r.deployment_id))
            .where(r.state_type.in_(list(state_types)), d.work_pool_name.is_not(None))
            .group_by(d.work_pool_name)
        )
        with self._read() as conn:
            return {pool: int(n) for pool, n in conn.execute(query)}
