"""The dashboard server: loopback by default, a token beyond it, and flow control: a browser that
does not acknowledge frames gets at most `max_unacked` of them, and what waits for it is bounded."""

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest
import tornado.websocket
from gaitchain.live.hub import ClientFeed, LiveHub
from gaitchain.live.server import LiveServer, ServerConfig, _Client, check_binding


def test_loopback_needs_no_token_and_the_network_needs_a_flag_and_a_token() -> None:
    assert check_binding("127.0.0.1", None, False) is None
    with pytest.raises(ValueError, match="--allow-network"):
        check_binding("0.0.0.0", None, False)
    token = check_binding("0.0.0.0", None, True)
    assert token is not None and len(token) >= 16
    assert check_binding("0.0.0.0", "given", True) == "given"


@pytest.fixture
def server() -> Iterator[tuple[LiveServer, LiveHub, list[bool]]]:
    hub = LiveHub(max_points=50)
    records: list[bool] = []
    live = LiveServer(
        hub,
        ServerConfig(port=0, token="s3cret", max_unacked=2),
        now_s=lambda: 100.0,
        on_record=records.append,
    )
    live.start_in_thread()
    yield live, hub, records
    live.stop()


def test_page_and_socket_need_the_token(server: tuple[LiveServer, LiveHub, list[bool]]) -> None:
    live, _, _ = server
    base = f"http://127.0.0.1:{live.port}/"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base, timeout=10)
    assert refused.value.code == 403
    refused.value.close()
    with urllib.request.urlopen(base + "?token=s3cret", timeout=10) as response:
        page = response.read().decode()
    assert "bokeh" in page and "fig-pelvis" in page

    async def closed_without_token() -> object:
        ws = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{live.port}/ws")
        message = await ws.read_message()
        ws.close()
        await asyncio.sleep(0.1)
        return message

    assert asyncio.run(closed_without_token()) is None, "closed at once"


def test_unacknowledged_frames_stop_and_traces_are_decimated(
    server: tuple[LiveServer, LiveHub, list[bool]],
) -> None:
    live, hub, records = server

    async def session() -> tuple[list[dict[str, object]], dict[str, object]]:
        ws = await tornado.websocket.websocket_connect(
            f"ws://127.0.0.1:{live.port}/ws?token=s3cret"
        )
        for k in range(100):  # 2 s of a busy pipeline while the page never acknowledges
            t = np.arange(6, dtype=np.float64) / 120 + k * 0.05
            hub.publish_trace("pelvis_obliquity_deg", t, t)
            await asyncio.sleep(0.02)
        frames: list[dict[str, object]] = []
        while True:
            try:
                message = await asyncio.wait_for(ws.read_message(), 0.3)
            except TimeoutError:
                break
            assert isinstance(message, str)
            frames.append(json.loads(message))
        await ws.write_message(json.dumps({"ack": len(frames), "record": True}))
        late = json.loads(str(await asyncio.wait_for(ws.read_message(), 2.0)))
        ws.close()
        await asyncio.sleep(0.1)
        return frames, late

    frames, late = asyncio.run(session())
    assert len(frames) == 2, "no more than max_unacked frames without an acknowledgement"
    waiting = late["traces"]["pelvis_obliquity_deg"][0]  # type: ignore[index]
    assert 0 < len(waiting) <= 50, "what waited was decimated to the feed's bound"
    assert waiting[-1] > 4.9 and waiting == sorted(waiting), "and still reaches the newest sample"
    assert late["decimations"] > 0 and late["wall_minus_host_s"] is not None  # type: ignore[operator]
    assert records == [True], "the record button reaches the pipeline"


class _LockedFeed(ClientFeed):
    """A feed that fails when read or written without its hub's lock held: the pipeline's
    thread adds channels while the server's reads, so an unlocked read can meet a dict changing
    size (the race that stopped the 30-minute run's server after 20 minutes)."""

    hub: LiveHub | None = None

    def __getattribute__(self, name: str) -> object:
        hub = object.__getattribute__(self, "hub")
        if name in ("traces", "strides", "snapshots") and hub is not None:
            assert hub._lock.locked(), f"feed.{name} used without the hub's lock"  # pyright: ignore[reportPrivateUsage]
        return object.__getattribute__(self, name)


class _Handler:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def write_message(self, message: str) -> None:
        self.sent.append(message)


def _server_with_client(hub: LiveHub) -> tuple[LiveServer, _Handler]:
    live = LiveServer(hub, ServerConfig(port=0), now_s=lambda: 10.0, on_record=lambda _: None)
    feed = _LockedFeed(max_points=hub.max_points, max_strides=hub.max_strides)
    with hub._lock:  # pyright: ignore[reportPrivateUsage]
        hub._feeds.add(feed)  # pyright: ignore[reportPrivateUsage]
    feed.hub = hub
    handler = _Handler()
    client = _Client(handler, feed)  # type: ignore[arg-type]
    client.last_sent_s = time.monotonic()  # the heartbeat is not due: only news is sent
    live.clients.add(client)
    return live, handler


def test_the_server_reads_a_feed_only_under_the_hubs_lock() -> None:
    hub = LiveHub()
    live, handler = _server_with_client(hub)
    live._flush()  # pyright: ignore[reportPrivateUsage]
    assert live.flush_error is None, live.flush_error
    assert handler.sent == [], "nothing new, heartbeat not due"
    t = np.arange(3, dtype=np.float64)
    hub.publish_trace("pelvis_obliquity_deg", t, t)
    hub.publish_strides([{"side": "left", "index": 0, "t_s": 1.0}])
    live._flush()  # pyright: ignore[reportPrivateUsage]
    assert live.flush_error is None, live.flush_error
    (frame,) = [json.loads(m) for m in handler.sent]
    assert frame["strides"] == [{"side": "left", "index": 0, "t_s": 1.0}]


def test_a_frame_that_fails_is_reported_and_serving_goes_on() -> None:
    hub = LiveHub()
    live, handler = _server_with_client(hub)
    t = np.arange(3, dtype=np.float64)
    hub.publish_trace("pelvis_obliquity_deg", t, np.array([0.0, np.nan, 1.0]))
    live._flush()  # pyright: ignore[reportPrivateUsage]
    assert live.frames_failed == 1 and "ValueError" in str(live.flush_error)
    hub.publish_strides([{"side": "right", "index": 3, "t_s": 2.0}])
    hub.publish_trace("pelvis_obliquity_deg", t + 3.0, t)
    live._flush()  # pyright: ignore[reportPrivateUsage]
    assert [json.loads(m)["strides"][0]["index"] for m in handler.sent] == [3], "the next one"
