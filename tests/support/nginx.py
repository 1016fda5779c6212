"""A real nginx (Debian's) in front of provider processes, as a load balancer at the
issuer's address: round robin over the upstreams, its own throw-away prefix, no
daemon, stopped when the block ends."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.live_server import stop_process

REQUIRE_ENV = "PROVIDER_REQUIRE_NGINX"
CONFIG = """
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream provider {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream off;
{extra}
        }}
    }}
}}
"""


def nginx_binary() -> str:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                       else None)
    if binary is None:
        message = "nginx is not installed (apt-get install nginx-light): the proxy tests skip"
        if os.environ.get(REQUIRE_ENV) == "1" or os.environ.get("CI") == "true":
            pytest.fail(f"in CI nginx is required, but {message}", pytrace=False)
        pytest.skip(message)
    return binary


@contextmanager
def run_nginx(port: int, upstreams: list[str], bind: str | None = None) -> Iterator[str]:
    """nginx on 127.0.0.1:``port`` balancing over ``upstreams`` (``host:port``), as
    the README's reverse-proxy example: it appends the client's address to
    X-Forwarded-For. ``bind``: the address it connects to the upstreams from (a
    loopback address other than the clients' own, so that only it is trusted).
    Yields its base URL."""
    binary = nginx_binary()
    prefix = Path(tempfile.mkdtemp(prefix="provider-nginx-"))
    servers = "\n".join(f"        server {upstream};" for upstream in upstreams)
    config = prefix / "nginx.conf"
    # as root, nginx's workers would run as nobody, who cannot use the root-only prefix
    user = "user root;" if os.geteuid() == 0 else ""
    extra = f"            proxy_bind {bind};" if bind else ""
    config.write_text(CONFIG.format(user=user, prefix=prefix, port=port, servers=servers,
                                    extra=extra))
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = prefix / "error.log"
                pytest.fail("nginx did not start:\n" + (log.read_text() if log.exists()
                                                        else ""), pytrace=False)
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)
        shutil.rmtree(prefix, ignore_errors=True)
