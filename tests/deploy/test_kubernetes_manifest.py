"""Every Job manifest the kubernetes pool builds is one the Kubernetes API accepts in shape:
validated strictly (no unknown field) against the official batch/v1 Job OpenAPI schemas of
pinned Kubernetes versions (the `kubernetes-validate` package carries them), and read into the
client's own V1Job model and written back unchanged (a misspelt or mistyped field would be
dropped or refused). The recorded API responses the runner's tests serve are checked the same
way, so they are in the shapes the API returns."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mainspring.deploy.workers.kubernetes_manifest import job_manifest
from mainspring.model.job_variables import kubernetes_job

from .kubernetes_support import FIXTURES, fixture

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate (a dev dependency) is not installed"
)
client = pytest.importorskip("kubernetes.client", reason="the kubernetes extra is not installed")

#: The oldest Kubernetes the pool is checked for (the client's lower bound) and the newest
#: whose schemas the pinned kubernetes-validate carries.
K8S_VERSIONS = ("1.29.0", "1.37.0")
RUN_ID = "0193a5c4-7e21-7c3d-9b8e-2f4a6c8e0b1d"
STORE_ENV = {
    "MAINSPRING_API_URL": "http://mainspring.flows.svc:4200/api",
    "PYTHONUNBUFFERED": "1",
}


def to_model(data: dict[str, Any], kind: str) -> Any:
    """`data` read as the client reads an API response into its model `kind`."""
    api = client.ApiClient()
    try:
        return api.deserialize(json.dumps(data), kind, "application/json")
    except TypeError:  # clients before 35: deserialize(response, type)

        class Response:
            data = json.dumps(data)

        return api.deserialize(Response(), kind)


def assert_valid(manifest: dict[str, Any], kind: str = "V1Job") -> None:
    for version in K8S_VERSIONS:
        if kind == "V1Status":
            _validate_status(manifest, version)
        else:
            kubernetes_validate.validate(manifest, version, strict=True)
    model = to_model(manifest, kind)
    assert client.ApiClient().sanitize_for_serialization(model) == _utc_offsets(manifest)


def _validate_status(status: dict[str, Any], version: str) -> None:
    """A Status (an error's body) is `v1` on the wire, but its schema is filed under meta/v1,
    where `validate` does not look: the same check, on that file."""
    import jsonschema
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    folder = f"kubernetes-json-schema/v{version}-local-strict"
    schema = schema_contents(f"{folder}/status-meta-v1.json", version)
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    jsonschema.Draft202012Validator(schema, registry=registry).validate(status)


def _utc_offsets(data: Any) -> Any:
    """`data` as the client writes it back: times with '+00:00' for 'Z', no nulls."""
    if isinstance(data, dict):
        return {k: _utc_offsets(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_utc_offsets(v) for v in data]
    if isinstance(data, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data):
        return data[:-1] + "+00:00"
    return data


def build(template: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    return job_manifest(RUN_ID, kubernetes_job(template, variables), STORE_ENV)


FULL = {
    "image": "registry.example.com/flows:1.0",
    "namespace": "data-team",
    "service_account_name": "flow-runner",
    "image_pull_policy": "Always",
    "env": {"LOG_LEVEL": "DEBUG", "WORKERS": 4, "DRY_RUN": False},
    "env_from_secrets": {
        "MAINSPRING_API_KEY": {"secret": "mainspring", "key": "api-key"},
        "DB_PASSWORD": {"secret": "warehouse.credentials", "key": "password"},
    },
    "cpu_request": "250m",
    "cpu_limit": 2,
    "memory_request": "256Mi",
    "memory_limit": "1Gi",
    "labels": {"team": "data", "example.com/cost-centre": "c-42"},
    "finished_job_ttl": 3600,
    "pod_watch_timeout_seconds": 120,
}
OVERRIDES = {
    "metadata": {"annotations": {"example.com/owner": "data-team"}},
    "spec": {
        "activeDeadlineSeconds": 7200,
        "template": {
            "metadata": {
                "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
            },
            "spec": {
                "nodeSelector": {"kubernetes.io/arch": "amd64"},
                "tolerations": [
                    {"key": "batch", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
                ],
                "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}],
                "containers": [
                    {
                        "name": "main",
                        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                        "env": [
                            {"name": "LOG_LEVEL", "value": "INFO"},
                            {"name": "TZ", "value": "UTC"},
                        ],
                    },
                    {
                        "name": "proxy",
                        "image": "registry.example.com/sql-proxy:2",
                        "args": ["--port=5432"],
                    },
                ],
            },
        },
    },
}


@pytest.mark.parametrize(
    ("template", "variables"),
    [
        ({"image": "python:3.12-slim"}, {}),
        ({}, FULL),
        ({"image": "base:1", "namespace": "flows"}, {"job_manifest": OVERRIDES}),
        ({**FULL, "job_manifest": OVERRIDES}, {"image": "mine:2", "env": {"TZ": "Europe/Paris"}}),
    ],
    ids=["minimal", "every-variable", "job-manifest-overrides", "pool-and-deployment"],
)
def test_every_manifest_is_a_valid_batch_v1_job(template, variables):
    assert_valid(build(template, variables))


def test_the_run_the_store_and_the_users_choices_are_in_the_manifest():
    manifest = build({**FULL, "job_manifest": OVERRIDES}, {"env": {"TZ": "Europe/Paris"}})
    assert manifest["metadata"]["namespace"] == "data-team"
    assert manifest["metadata"]["annotations"] == {"example.com/owner": "data-team"}
    spec = manifest["spec"]
    assert (spec["backoffLimit"], spec["ttlSecondsAfterFinished"]) == (0, 3600)
    assert spec["activeDeadlineSeconds"] == 7200
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "flow-runner"
    assert spec["template"]["metadata"]["labels"] == {
        "team": "data",
        "example.com/cost-centre": "c-42",
        "app.kubernetes.io/managed-by": "mainspring",
        "mainspring.io/flow-run-id": RUN_ID,
    }
    flow, proxy = pod["containers"]
    assert proxy["name"] == "proxy"  # a sidecar of the user's, kept as it was
    assert flow["name"] == "flow"  # the user's first container is the flow's
    assert flow["volumeMounts"] == [{"name": "scratch", "mountPath": "/scratch"}]
    assert flow["command"] == [
        "python", "-m", "mainspring.cli.main", "flow-run", "execute", RUN_ID,
    ]  # fmt: skip
    assert flow["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in flow["env"]}
    assert env["LOG_LEVEL"] == "DEBUG"  # ours over the manifest's
    assert env["TZ"] == "Europe/Paris"  # the deployment's over the pool's and the manifest's
    assert env["WORKERS"] == "4" and env["DRY_RUN"] == "false"
    assert env["MAINSPRING_API_URL"] == STORE_ENV["MAINSPRING_API_URL"]
    # the API key comes from the secret, never as plain text in the Job
    assert env["MAINSPRING_API_KEY"] == {"secretKeyRef": {"name": "mainspring", "key": "api-key"}}
    assert [e for e in flow["env"] if e["name"] == "MAINSPRING_API_KEY"] == [
        {
            "name": "MAINSPRING_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": "mainspring", "key": "api-key"}},
        }
    ]


def test_an_entry_of_ours_replaces_the_manifests_entry_of_that_name_whole():
    """Merged field by field, a `valueFrom` of theirs and a `value` of ours would make one env
    entry the API refuses; a volume of theirs with ours would have two sources."""
    manifest = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "flow",
                            "env": [
                                {
                                    "name": "TOKEN",
                                    "valueFrom": {"secretKeyRef": {"name": "a", "key": "b"}},
                                },
                                {"name": "KEEP", "value": "1"},
                            ],
                        }
                    ]
                }
            }
        }
    }
    built = build({"image": "x:1", "job_manifest": manifest}, {"env": {"TOKEN": "plain"}})
    assert_valid(built)
    env = built["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "TOKEN", "value": "plain"} in env
    assert {"name": "KEEP", "value": "1"} in env
    assert not any("valueFrom" in e for e in env)


def test_the_schema_check_catches_what_the_api_would_refuse():
    """The check above is not vacuous: a misspelt field or a wrong type fails it."""
    good = build({"image": "x:1"}, {})
    misspelt = json.loads(json.dumps(good))
    misspelt["spec"]["template"]["spec"]["restartpolicy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, K8S_VERSIONS[0], strict=True)
    wrong_type = json.loads(json.dumps(good))
    wrong_type["spec"]["backoffLimit"] = "0"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, K8S_VERSIONS[0], strict=True)
    nameless = json.loads(json.dumps(good))
    del nameless["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(ValueError, match="name"):
        to_model(nameless, "V1Job")


_names = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)
_env_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True)
_variables = st.fixed_dictionaries(
    {"image": st.sampled_from(["python:3.12-slim", "registry.example.com/team/flows:1.0"])},
    optional={
        "namespace": _names,
        "service_account_name": _names,
        "image_pull_policy": st.sampled_from(["Always", "IfNotPresent", "Never"]),
        "env": st.dictionaries(_env_names, st.text(max_size=20) | st.integers() | st.booleans()),
        "env_from_secrets": st.dictionaries(
            _env_names, st.fixed_dictionaries({"secret": _names, "key": _names}), max_size=3
        ),
        "cpu_request": st.sampled_from(["100m", "0.5", "1", 2]),
        "cpu_limit": st.sampled_from(["500m", "2", 4]),
        "memory_request": st.sampled_from(["64Mi", "1G", "512Mi"]),
        "memory_limit": st.sampled_from(["128Mi", "2Gi", 1073741824]),
        "labels": st.dictionaries(_names, _names, max_size=3),
        "finished_job_ttl": st.integers(0, 10**6),
        "pod_watch_timeout_seconds": st.floats(1, 3600),
        "job_manifest": st.sampled_from([{}, OVERRIDES]),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_variables)
def test_any_valid_job_variables_make_a_valid_job(variables):
    assert_valid(build({}, variables))


@pytest.mark.parametrize(
    ("name", "kind"),
    sorted(
        (path.name, "V1PodList" if path.name.startswith("pod") else path.stem)
        for path in FIXTURES.glob("*.json")
    ),
)
def test_the_recorded_api_responses_have_the_apis_shapes(name, kind):
    data = fixture(name, RUN_ID)
    kind = {"job-created": "V1Job"}.get(kind, "V1Status" if kind.startswith("job-") else kind)
    assert_valid(data, kind)
