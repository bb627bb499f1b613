"""ApiStore: the Store protocol over HTTP, against a Mainspring server's REST API.

`MAINSPRING_API_URL=http://host:4200/api` selects it (see `open_store`); flows and the CLI
then record into and read from the server exactly as they would from the embedded store, and
get the same records back.

Writes come from the recorder (store/recorder.py), which already batches and retries: a batch
that fails is retried unchanged, with backoff, until the server is back. What this store adds
is an idempotency key: each batch gets an id on its first attempt, and the server stores the
ids it applied in the same transaction, so a retry whose first attempt was stored (the answer
lost in a restart or a network blip) is not stored twice. A batch larger than `CHUNK` records
is sent in several requests, each with its own derived id, and a part the server refuses as
invalid is halved until the bad records stand alone (store/batch_parts.py): they are refused,
the rest stored. Parts are also halved until each body is below `max_request_bytes`
(MAINSPRING_SERVER_MAX_REQUEST_BYTES, the server's cap by default), and again when the server
answers 413 (its cap is lower): a single record still too large is refused alone.

Errors: an unknown id is `ObjectNotFound`, as with SqlStore; a server that cannot be reached
or fails (5xx) is a `StoreError` naming its URL (the recorder retries those); a missing,
invalid or read-only API key and a refused body are `StoreRejected`, whose message says what
to do. The API key (MAINSPRING_API_KEY) goes in the Authorization header and nowhere else.

The run history's reads are in store/http/run_reads.py. The DeploymentStore methods travel
over /api/deployments and /api/work_pools (store/http/deployments.py). `set_state` is the
server's `POST .../set_state`; the API-key and crash-detector methods of `Store` are the
server's own business (its tables, its process) and raise `NeedsDatabase`
(store/http/server_only.py).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NoReturn

import httpx
import orjson

from mainspring.exceptions import ObjectNotFound, StoreError, StoreRejected
from mainspring.model import (
    StateType,
)
from mainspring.model.orchestration import Decision, Outcome, Status
from mainspring.model.runs import new_id
from mainspring.model.states import State
from mainspring.settings import redact_url
from mainspring.store.base import Batch, Store
from mainspring.store.batch_parts import MAX_REFUSED, PartRefused, chunks, write_isolating
from mainspring.store.http import wire
from mainspring.store.http.answers import detail as _detail
from mainspring.store.http.artifacts import ApiArtifacts
from mainspring.store.http.blocks import ApiBlocks
from mainspring.store.http.concurrency import ApiConcurrency
from mainspring.store.http.deployments import ApiDeployments
from mainspring.store.http.events import ApiEvents
from mainspring.store.http.insights import ApiInsights
from mainspring.store.http.queries import is_run_id
from mainspring.store.http.queries import path_segment as _q
from mainspring.store.http.run_changes import ApiRunChangeFeed
from mainspring.store.http.run_pages import ApiRunPages
from mainspring.store.http.run_reads import ApiRunReads
from mainspring.store.http.run_retries import ApiRunRetries
from mainspring.store.http.server_only import ServerOnly
from mainspring.store.http.task_run_summaries import ApiTaskRunSummaries
from mainspring.store.http.wire_batch import encode_batch
from mainspring.store.per_process import PerProcess

#: Most records sent in one request (the server takes up to 100,000 per list).
CHUNK = 10_000
#: Most flow-run ids in one heartbeat request.
HEARTBEAT_IDS = 10_000
#: Ids the server accepts in a path; anything else cannot name a stored object.
_ID = is_run_id  # a run id the server could hold (queries.py)
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class ApiStore(
    ServerOnly,
    ApiDeployments,
    ApiBlocks,
    ApiEvents,
    ApiArtifacts,
    ApiInsights,
    ApiRunRetries,
    ApiTaskRunSummaries,
    ApiRunChangeFeed,
    ApiConcurrency,
    ApiRunPages,
    ApiRunReads,
    Store,
):
    """Run history kept by a Mainspring server, reached over HTTP with one keep-alive client.

    Thread-safe (httpx clients are); a forked child makes its own client. `transport` is for
    tests that need to simulate the network (a lost answer); normally httpx's own is used.
    """

    eager = True  # the server decodes and writes while the flow goes on

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        max_request_bytes: int | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(
                f"Invalid MAINSPRING_API_URL {redact_url(url)!r}: expected a server's API URL "
                "such as http://127.0.0.1:4200/api"
            )
        self.url = url.rstrip("/")
        if api_key is None or max_request_bytes is None:
            from mainspring.settings import get_settings

            settings = get_settings()
            if api_key is None:
                secret = settings.api_key
                api_key = secret.get_secret_value() if secret is not None else None
            if max_request_bytes is None:
                max_request_bytes = settings.server_max_request_bytes
        #: Largest body sent in one request; larger batches go in parts.
        self.max_request_bytes = max_request_bytes
        self._has_key = bool(api_key)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._transport = transport
        #: kept-alive connections, which a forked child must not share with its parent
        self._client = PerProcess(self._new_client, close=lambda client: client.close())
        self._closed = False

    def __repr__(self) -> str:  # never the key
        return f"ApiStore({redact_url(self.url)!r})"

    # -- HTTP --------------------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        return self._client.get()

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers=self._headers,
            timeout=TIMEOUT,
            transport=self._transport,
            verify=_verify(self.url),
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        content: bytes | None = None,
        timeout: httpx.Timeout | None = None,
        retry: bool = True,
    ) -> httpx.Response:
        """One request; a connection the server closed meanwhile (a restart: kept-alive
        connections die) is retried once at once unless `retry` is False (a request that
        must not be made twice). `timeout`: other than `TIMEOUT` (a long poll's)."""
        client = self._http()
        for attempt in (1, 2) if retry else (2,):
            try:
                return client.request(
                    method, path, params=params, content=content, timeout=timeout or TIMEOUT
                )
            except httpx.TimeoutException as exc:
                raise StoreError(
                    f"The Mainspring server at {redact_url(self.url)} did not answer {method} "
                    f"{path} in time ({type(exc).__name__})"
                ) from exc
            except httpx.TransportError as exc:
                if attempt == 2:
                    raise StoreError(
                        f"Could not reach the Mainspring server at {redact_url(self.url)} "
                        f"({type(exc).__name__}: {exc}); is it running, and is "
                        "MAINSPRING_API_URL right?"
                    ) from exc
        raise AssertionError("unreachable")

    def _json(self, path: str, params: Any = None, *, missing: Any = ...) -> Any:
        """GET `path` and decode its JSON; a 404 returns `missing` when given."""
        response = self._request("GET", path, params=params)
        if response.status_code == 404 and missing is not ...:
            return missing
        if response.status_code != 200:
            self._fail(response)
        return orjson.loads(response.content)

    def _fail(self, response: httpx.Response) -> NoReturn:
        status, where = response.status_code, redact_url(self.url)
        detail = _detail(response)
        request = f"{response.request.method} {response.request.url.path}"
        if status == 401:
            if not self._has_key:
                raise StoreRejected(
                    f"The Mainspring server at {where} requires an API key: set "
                    "MAINSPRING_API_KEY to a key made by `mainspring api-key create NAME` "
                    "on the server (the server answered 401)."
                )
            raise StoreRejected(
                f"The Mainspring server at {where} does not accept the API key in "
                "MAINSPRING_API_KEY; set it to a valid key (`mainspring api-key ls` on the "
                f"server lists them). Server said: {detail}"
            )
        if status == 403:
            raise StoreRejected(
                f"The API key in MAINSPRING_API_KEY may only read from {where}, and {request} "
                "writes: use a write key (`mainspring api-key create NAME`, without "
                f"--read-only). Server said: {detail}"
            )
        if status == 404:
            raise StoreRejected(
                f"{where} has no {request}: is MAINSPRING_API_URL the API of a Mainspring "
                "server (e.g. http://127.0.0.1:4200/api), and is the server up to date?"
            )
        if status == 422:
            raise StoreRejected(f"The Mainspring server at {where} refused {request}: {detail}")
        if status >= 500:
            raise StoreError(
                f"The Mainspring server at {where} failed on {request} ({status}): {detail}"
            )
        raise StoreRejected(
            f"The Mainspring server at {where} answered {request} with {status}: {detail}"
        )

    def close(self) -> None:
        self._closed = True
        self._client.close()

    # -- writing -----------------------------------------------------------------------------
    def write(self, batch: Batch) -> bool:
        if not batch:
            return True
        if batch.id is None:  # kept on the batch: the recorder retries this very object
            batch.id = new_id().replace("-", "")
        refused: list[tuple[Batch, str]] = []  # parts the server refused as invalid, and why
        stored = False
        for chunk in chunks(batch, CHUNK):
            stored = write_isolating(chunk, self._send, refused, MAX_REFUSED) or stored
        if refused:
            count = sum(part.size() for part, _ in refused)
            reasons = "; ".join(dict.fromkeys(why for _, why in refused))
            raise StoreRejected(
                f"The Mainspring server at {redact_url(self.url)} refused {count} of "
                f"{batch.size()} records as invalid; the others are stored. {reasons}",
                refused=count,
                parts=refused,
            )
        return stored

    def _send(self, part: Batch) -> bool:
        """POST one part; True if stored, False if it had been; `PartRefused` if the server
        finds it invalid or it is too large for one request (`write_isolating` then halves it
        until the bad or large records stand alone). A lone flow run too large even so is sent
        with a note in place of its parameters: the run is worth more than an argument."""
        body = encode_batch(part)
        response = None
        if len(body) <= self.max_request_bytes:
            response = self._request("POST", "/batches", content=body)
        if response is None or response.status_code == 413:  # too large for one request
            slim = _without_parameters(part, len(body))
            if slim is not None:
                return self._send(slim)
            raise PartRefused(
                f"{len(body)} bytes of JSON, more than the server takes in one request "
                "(MAINSPRING_SERVER_MAX_REQUEST_BYTES)"
            )
        if response.status_code == 422:
            raise PartRefused(_detail(response))
        if response.status_code != 200:
            self._fail(response)
        return not orjson.loads(response.content).get("duplicate", False)

    def heartbeat(self, flow_run_ids: Sequence[str]) -> dict[str, StateType]:
        ids = [i for i in dict.fromkeys(flow_run_ids) if _ID(i)]
        states: dict[str, StateType] = {}
        for start in range(0, len(ids), HEARTBEAT_IDS):
            body = orjson.dumps({"flow_run_ids": ids[start : start + HEARTBEAT_IDS]})
            response = self._request("POST", "/flow_runs/heartbeat", content=body)
            if response.status_code != 200:
                self._fail(response)
            for id_, type_ in orjson.loads(response.content)["states"].items():
                states[id_] = StateType(type_)
        return states

    # -- state changes from outside a run ----------------------------------------------------
    def set_state(self, flow_run_id: str, state: State, *, force: bool = False) -> Outcome:
        return self._set_state("flow_runs", "flow run", flow_run_id, state, force)

    def set_task_run_state(self, task_run_id: str, state: State, *, force: bool = False) -> Outcome:
        return self._set_state("task_runs", "task run", task_run_id, state, force)

    def _set_state(
        self, collection: str, kind: str, run_id: str, state: State, force: bool
    ) -> Outcome:
        if not _ID(run_id):
            raise ObjectNotFound(f"No {kind} with id {run_id!r}")
        proposed: dict[str, Any] = {
            "type": state.type.value,
            "name": state.name,
            "timestamp": wire.iso(state.ts),
        }
        if state.message is not None:
            proposed["message"] = state.message
        body = wire.dumps({"state": proposed, "force": force})
        response = self._request("POST", f"/{collection}/{_q(run_id)}/set_state", content=body)
        if response.status_code == 404:
            raise ObjectNotFound(f"No {kind} with id {run_id!r}")
        if response.status_code != 200:
            self._fail(response)
        answer = orjson.loads(response.content)
        decision = Decision(Status(answer["status"]), answer["reason"])
        return Outcome(decision, wire.state_from_json(answer["state"]))


# -- helpers ---------------------------------------------------------------------------------
#: What a flow run too large to send records instead of its parameters.
PARAMETERS_NOT_SENT = "(parameters not recorded)"


def _without_parameters(part: Batch, size: int) -> Batch | None:
    """A part that is one flow run too large to send, with a note in place of its parameters
    (the run, its states and its task runs are worth more than an unsendable argument); None
    for any other part."""
    if part.size() != 1 or not part.flow_runs:
        return None
    run = next(iter(part.flow_runs.values()))
    if PARAMETERS_NOT_SENT in run.parameters:
        return None
    note = f"{size} bytes of JSON with them: more than the server takes in one request"
    slim = replace(run, parameters={PARAMETERS_NOT_SENT: note})
    return Batch(id=part.id, flow_runs={slim.id: slim})


def _verify(url: str) -> ssl.SSLContext | bool:
    """httpx's certificate check for an https:// server; for an http:// one, a TLS context
    trusting no certificate. httpx builds its default context (loading the CA bundle, ~80 ms,
    most of a short command's or a forked run's first request) even for a plain-HTTP client,
    which never uses it: it does not follow redirects, so it never meets TLS, and if it did,
    a context that trusts nothing would refuse the connection, never accept it unchecked."""
    if url.lower().startswith("https:"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, with no CA: refuses any peer
