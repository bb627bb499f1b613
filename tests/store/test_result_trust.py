"""A result reference read back from the store is loaded only from a location this process
trusts: any writer of the store (an API client, anyone who can write the database) sets where a
state's result lives, and loading a pickle runs its code (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from mainspring.exceptions import UntrustedResultLocation
from mainspring.model import State, StateType
from mainspring.settings import reset_settings
from mainspring.store.base import Batch
from mainspring.store.results.storage import ResultRef, default_storage, encode_record, storage_for
from mainspring.store.results.trust import is_trusted
from mainspring.store.sql import SqlStore

from .conftest import T0, make_flow_run

TRUSTED = "MAINSPRING_RESULT_TRUSTED_LOCATIONS"


class Planted:
    """Unpickling it creates the file `marker`: the code of a planted pickle running."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def plant(root: Path, key: str, marker: Path) -> ResultRef:
    header = {"serializer": "cloudpickle", "created": T0, "by": "an API writer"}
    storage_for(root).write(key, encode_record(header, pickle.dumps(Planted(marker))))
    return ResultRef(str(root), key, "cloudpickle")


def stored_state(store: SqlStore, ref: ResultRef) -> State:
    run = make_flow_run("etl", state=State(StateType.COMPLETED, "Completed", None, ref, ts=T0))
    store.write(Batch(flow_runs={run.id: run}))
    return store.read_flow_run(run.id).state


def test_a_result_outside_the_trusted_storages_is_refused_unloaded(
    store: SqlStore, tmp_path: Path
) -> None:
    marker = tmp_path / "pickle-ran"
    state = stored_state(store, plant(tmp_path / "elsewhere", "flow-runs/x/result", marker))
    with pytest.raises(UntrustedResultLocation, match=TRUSTED) as refused:
        state.result()
    assert str(tmp_path / "elsewhere") in str(refused.value)
    assert not marker.exists()


def test_a_key_escaping_the_own_storage_is_refused(store: SqlStore, tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"
    own = default_storage().local
    assert own is not None
    plant(tmp_path / "elsewhere", "evil", marker)
    escaping = os.path.relpath(tmp_path / "elsewhere" / "evil", own)
    assert escaping.startswith("..")
    state = stored_state(store, ResultRef(str(own), escaping, "cloudpickle"))
    with pytest.raises(UntrustedResultLocation):
        state.result()
    assert not marker.exists()


def test_locations_listed_in_the_setting_are_loaded(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "pickle-ran"
    ref = plant(tmp_path / "shared" / "results", "k", marker)
    monkeypatch.setenv(TRUSTED, f"s3://bucket/x, {tmp_path / 'shared'}")
    reset_settings()
    stored_state(store, ref).result()
    assert marker.exists()  # loaded: the check, not the pickle, refused it in the tests above


def test_locations_match_on_path_boundaries_after_normalizing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRUSTED, f"{tmp_path / 'results'},s3://Bucket/team/")
    reset_settings()
    assert is_trusted(str(tmp_path / "results"), "a/b")
    assert not is_trusted(str(tmp_path / "results-evil"), "a")
    assert not is_trusted(str(tmp_path / "results"), "../results-evil/a")
    assert not is_trusted(str(tmp_path / "results"), str(tmp_path / "x"))  # absolute key
    assert is_trusted(f"file://{tmp_path / 'results'}", "a")
    assert is_trusted("S3://Bucket/team", "run/result")
    assert is_trusted("s3://Bucket/team/sub/", "k")
    assert not is_trusted("s3://Bucket/teammate", "k")
    assert not is_trusted("s3://bucket/team", "k")  # another bucket
    assert not is_trusted("s3://Bucket/team/../other", "k")
    assert not is_trusted("s3://Bucket/team", "../other/k")
    assert not is_trusted("gcs://Bucket/team", "k")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert not is_trusted(str(tmp_path / "results"), "link/k")


def test_a_profile_lists_trusted_locations_as_a_list(tmp_path: Path) -> None:
    from mainspring.settings import get_settings

    home = get_settings().home
    home.mkdir(parents=True, exist_ok=True)
    (home / "profiles.toml").write_text(
        f'[default]\nresult_trusted_locations = ["{tmp_path / "team"}"]\n'
    )
    reset_settings()
    assert get_settings().result_trusted_locations == [str(tmp_path / "team")]
    assert is_trusted(str(tmp_path / "team" / "results"), "k")
