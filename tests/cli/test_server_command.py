"""`mainspring server start` prepares its own process for serving."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from mainspring.cli.server import freeze_startup_heap


def test_the_startup_heap_is_left_out_of_later_collections() -> None:
    kept: list[object] = [["built at startup"]]  # lists are always tracked by the collector
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen: no collection walks it
        later: list[object] = [["made per request"]]
        assert any(o is later for o in gc.get_objects())  # what comes later is collected
    finally:
        gc.unfreeze()  # this is a test process, not a server


def test_a_bad_log_level_is_a_usage_error_before_anything_is_served(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(tmp_path)
    command = [sys.executable, "-m", "mainspring.cli.main", "server", "start", "--port", "0"]
    result = subprocess.run(
        [*command, "--log-level", "bogus"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "Invalid value for '--log-level'" in result.stderr
    assert "Traceback" not in result.stderr and "Mainspring server on" not in result.stderr


def test_the_host_given_to_serve_on_is_a_name_the_server_answers_to(monkeypatch) -> None:
    from mainspring.cli.server import served_settings
    from mainspring.settings import reset_settings

    monkeypatch.setenv("MAINSPRING_SERVER_ALLOWED_HOSTS", "proxy.example")
    reset_settings()
    try:
        named = served_settings("build-box", 4200).server_allowed_hosts
        assert named == ["proxy.example", "build-box:4200"]
        assert served_settings("::1", 4200).server_allowed_hosts[-1] == "[::1]:4200"
        assert served_settings("0.0.0.0", 4200).server_allowed_hosts == ["proxy.example"]
    finally:
        monkeypatch.delenv("MAINSPRING_SERVER_ALLOWED_HOSTS")
        reset_settings()


def _served_output(tmp_path, *options: str) -> str:
    """What a real `mainspring server start` prints over two requests and a clean stop."""
    import re
    import signal
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(tmp_path)
    command = [sys.executable, "-m", "mainspring.cli.main", "server", "start", "--port", "0"]
    server = subprocess.Popen(
        [*command, *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )  # uvicorn's access log goes to stdout, the rest to stderr
    assert server.stdout is not None
    said = []
    try:
        for line in server.stdout:
            said.append(line)
            if "Application startup complete" in line:
                break
        url = re.search(r"Mainspring server on (http://\S+/api)", "".join(said))
        assert url, "".join(said)
        for _ in range(2):
            with urllib.request.urlopen(f"{url.group(1)}/health", timeout=30) as answer:
                assert answer.status == 200
        server.send_signal(signal.SIGINT)
        rest, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return "".join(said) + rest


@pytest.mark.slow
def test_no_access_log_keeps_the_start_and_stop_lines_only(tmp_path) -> None:
    quiet = _served_output(tmp_path, "--no-access-log")
    loud = _served_output(tmp_path)

    assert "GET /api/health" not in quiet
    assert "Application startup complete" in quiet
    assert "Finished server process" in quiet
    assert loud.count("GET /api/health") == 2  # by default, a line per request


@pytest.mark.slow
def test_the_announced_url_answers_as_soon_as_it_is_printed(tmp_path) -> None:
    """A script that reads the URL and connects at once waits for the app; it is not refused
    (the socket listens from the announcement, not from uvicorn's startup complete)."""
    import re
    import signal
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(tmp_path)
    command = [sys.executable, "-m", "mainspring.cli.main", "server", "start", "--port", "0"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    try:
        said = ""
        for line in server.stderr:
            said += line
            if "Mainspring server on" in line:
                break
        url = re.search(r"Mainspring server on (http://\S+/api)", said)
        assert url, said
        with urllib.request.urlopen(f"{url.group(1)}/health", timeout=30) as answer:
            assert answer.status == 200
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_connections_to_the_bound_socket_send_without_delay() -> None:
    """asyncio (and so uvicorn) sets TCP_NODELAY on a connection only when its listening
    socket names IPPROTO_TCP; with proto 0 every answer on a kept-alive connection waited
    ~40 ms for the client's delayed ACK. Checked on a real asyncio server over `bind`."""
    import asyncio
    import socket as sockets

    from mainspring.cli.server import bind

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            raw = writer.get_extra_info("socket")
            seen.set_result(raw.getsockopt(sockets.IPPROTO_TCP, sockets.TCP_NODELAY))
            writer.close()

        listener = bind("127.0.0.1", 0)
        server = await asyncio.start_server(on_connect, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            try:
                return await asyncio.wait_for(seen, 10)
            finally:
                writer.close()

    assert asyncio.run(accepted_nodelay()) != 0
