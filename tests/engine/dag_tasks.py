"""Small tasks the explicit-DAG tests (test_dag.py, test_dag_state.py) build their flows from."""

from __future__ import annotations

from mainspring import task


@task
def numbers(n):
    return list(range(n))


@task
def total(values):
    return sum(values)


@task
def add(x, y):
    return x + y
