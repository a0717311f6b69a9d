"""The dashboard's web server (tornado): the page, BokehJS from the bokeh package, and one
WebSocket per browser.

Bound to 127.0.0.1 unless told otherwise; any other address needs a token, which the page and the
WebSocket must carry (`?token=...`), so the dashboard is never open to the network by accident.

Every `tick_s` each browser's `ClientFeed` is sent as one JSON frame if the browser has
acknowledged all but at most `max_unacked` earlier frames, and at least every `heartbeat_s` even
when nothing changed (10 Hz or more while the browser keeps up). A slow browser therefore receives
fewer, larger frames whose traces the feed has decimated; nothing queues without bound.
A frame that fails (it cannot be encoded, say) is dropped and reported (`flush_error`,
`/healthz`); serving goes on.
"""

import asyncio
import hmac
import json
import logging
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket
from bokeh.util.paths import bokehjs_path

from .hub import ClientFeed, LiveHub
from .page import STATIC_DIR, figure_items, render_page

LOOPBACK: Final = ("127.0.0.1", "localhost", "::1")
log = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    title: str = "gaitchain live"
    tick_s: float = 0.01
    heartbeat_s: float = 0.1
    max_unacked: int = 2


def check_binding(host: str, token: str | None, allow_network: bool) -> str | None:
    """The token to require: None on loopback; on any other address `allow_network` must be set,
    and a token is made when none was given."""
    if host in LOOPBACK:
        return token
    if not allow_network:
        raise ValueError(
            f"refusing to serve the dashboard on {host}: it would be reachable from the network; "
            "add --allow-network (a token will be required) or use 127.0.0.1"
        )
    return token or secrets.token_urlsafe(16)


class _Client:
    def __init__(self, handler: "DashboardSocket", feed: ClientFeed) -> None:
        self.handler = handler
        self.feed = feed
        self.sent = 0
        self.acked = 0
        self.last_sent_s = 0.0


class _Base(tornado.web.RequestHandler):
    server: "LiveServer"

    def initialize(self, server: "LiveServer") -> None:
        self.server = server

    def authorised(self) -> bool:
        token = self.server.token
        given = self.get_query_argument("token", "")
        return token is None or hmac.compare_digest(given.encode(), token.encode())


class PageHandler(_Base):
    def get(self) -> None:
        if not self.authorised():
            raise tornado.web.HTTPError(403, "a valid ?token= is required")
        self.set_header("Cache-Control", "no-store")
        self.finish(self.server.page)  # pyright: ignore[reportUnknownMemberType]


class HealthHandler(_Base):
    def get(self) -> None:
        if not self.authorised():
            raise tornado.web.HTTPError(403)
        self.set_header("Content-Type", "application/json")
        health = {
            "clients": self.server.hub.clients,
            "error": self.server.error(),
            "frame_error": self.server.flush_error,
            "frames_failed": self.server.frames_failed,
        }
        self.finish(json.dumps(health))  # pyright: ignore[reportUnknownMemberType]


class DashboardSocket(tornado.websocket.WebSocketHandler):
    server: "LiveServer"
    client: _Client | None = None

    def initialize(self, server: "LiveServer") -> None:
        self.server = server

    def open(self, *args: str, **kwargs: str) -> None:
        token = self.server.token
        given = self.get_query_argument("token", "")
        if token is not None and not hmac.compare_digest(given.encode(), token.encode()):
            self.close(4003, "a valid ?token= is required")
            return
        self.client = _Client(self, self.server.hub.subscribe())
        self.server.clients.add(self.client)

    def on_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            return
        if not isinstance(data, dict) or self.client is None:
            return
        fields: dict[str, Any] = {str(k): v for k, v in data.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        ack = fields.get("ack")
        if isinstance(ack, int):
            self.client.acked = max(self.client.acked, ack)
        record = fields.get("record")
        if isinstance(record, bool):
            self.server.on_record(record)
        battery = fields.get("battery")
        if isinstance(battery, dict) and self.server.on_battery is not None:
            self.server.on_battery(cast(dict[str, Any], battery))

    def on_close(self) -> None:
        if self.client is not None:
            self.server.clients.discard(self.client)
            self.server.hub.unsubscribe(self.client.feed)


class LiveServer:
    """Serves the dashboard for `hub`. `now_s` is the pipeline's clock (sample times are on it),
    `on_record` starts/stops recording, `on_battery` passes the battery panel's commands on,
    `error` reports a failed pipeline."""

    def __init__(
        self,
        hub: LiveHub,
        config: ServerConfig,
        *,
        now_s: Callable[[], float],
        on_record: Callable[[bool], None],
        error: Callable[[], str | None] = lambda: None,
        on_battery: Callable[[object], None] | None = None,
    ) -> None:
        self.hub = hub
        self.config = config
        self.token = config.token
        self.now_s = now_s
        self.on_record = on_record
        self.on_battery = on_battery
        self.error = error
        self.clients: set[_Client] = set()
        self.page = render_page(title=config.title, items=figure_items())
        self.port = config.port
        self.frames_sent = 0
        self.frames_failed = 0
        self.failure: BaseException | None = None
        """Why the server's thread ended, when it did (`start_in_thread`)."""
        self.flush_error: str | None = None
        """The last frame that could not be sent, and why."""
        self.send_ages_s: deque[float] = deque(maxlen=20000)
        """How old each trace sample was when its frame was sent (seconds, newest last)."""
        self._server: tornado.httpserver.HTTPServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def application(self) -> tornado.web.Application:
        args = {"server": self}
        return tornado.web.Application(
            [
                (r"/", PageHandler, args),
                (r"/healthz", HealthHandler, args),
                (r"/ws", DashboardSocket, args),
                (r"/static/(.*)", tornado.web.StaticFileHandler, {"path": str(STATIC_DIR)}),
                (r"/bokehjs/(.*)", tornado.web.StaticFileHandler, {"path": str(bokehjs_path())}),
            ],
            websocket_max_message_size=64 * 1024,
        )

    @property
    def url(self) -> str:
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        query = f"?token={self.token}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    def _flush(self) -> None:
        for client in list(self.clients):
            try:
                self._flush_client(client)
            except Exception as error:  # one bad frame must not end serving
                self.frames_failed += 1
                self.flush_error = f"frame {client.sent} not sent: {type(error).__name__}: {error}"
                log.exception("dashboard frame not sent")

    def _flush_client(self, client: _Client) -> None:
        now = time.monotonic()
        waiting = client.sent - client.acked
        due = now - client.last_sent_s >= self.config.heartbeat_s
        if waiting >= self.config.max_unacked:
            return
        if not due and not self.hub.pending_points(client.feed):
            return
        client.sent += 1
        client.last_sent_s = now
        frame = self.hub.take(client.feed)
        wall = time.time()
        now_s = self.now_s()
        for t, _ in frame["traces"].values():
            self.send_ages_s.extend((now_s - np.asarray(t)).tolist())
        frame |= {
            "frame": client.sent,
            "sent_wall_s": wall,
            "wall_minus_host_s": wall - now_s,
            "decimations": client.feed.decimations,
        }
        try:
            client.handler.write_message(json.dumps(frame, allow_nan=False))
            self.frames_sent += 1
        except tornado.websocket.WebSocketClosedError:
            self.clients.discard(client)

    async def serve(self, ready: Callable[[], None] | None = None) -> None:
        """Listen and push frames until `stop()`."""
        self._loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sockets = tornado.netutil.bind_sockets(self.config.port, self.config.host, family=family)
        self.port = sockets[0].getsockname()[1]
        server = self._server = tornado.httpserver.HTTPServer(self.application())
        server.add_sockets(sockets)
        if ready is not None:
            ready()
        try:
            while not self._stopped.is_set():
                self._flush()
                await asyncio.sleep(self.config.tick_s)
        finally:
            server.stop()
            for client in list(self.clients):
                client.handler.close()

    def start_in_thread(self) -> None:
        """Serve on a background thread (tests, benchmarks); returns once listening."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self.serve(started.set))
            except BaseException as error:
                failure.append(error)
                self.failure = error  # after the start: `LiveApp.error` reports it
                started.set()

        self._thread = threading.Thread(target=run, name="gaitchain-live-server", daemon=True)
        self._thread.start()
        started.wait(timeout=30.0)
        if failure:
            raise failure[0]

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
