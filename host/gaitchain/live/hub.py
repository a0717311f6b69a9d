"""Between the pipeline thread and the web server: the latest state and a bounded feed per browser.

The pipeline publishes trace samples, completed stride rows and snapshots (pods, summary). Every
connected browser has a `ClientFeed`; what it has not been sent yet waits there, bounded: when a
channel holds more than `max_points` samples (the browser is slow to take frames), every other
sample is dropped, so a slow browser gets decimated traces and never an unbounded queue. Stride
rows keep only the newest `max_strides`. Snapshots are replaced, not queued.

A feed is written by the pipeline's thread and read by the server's: only through the hub, under
its lock (`LiveHub.pending_points`, `LiveHub.take`). Reading a feed's dicts without it can meet a
channel being added ("dictionary changed size during iteration"), which once stopped the server
after 20 minutes.
"""

import threading
from collections import deque
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Json = dict[str, Any]


class ClientFeed:
    """What one browser has not been sent yet (see the module docstring)."""

    def __init__(self, *, max_points: int = 600, max_strides: int = 100) -> None:
        self.max_points = max_points
        self.traces: dict[str, tuple[FloatArray, FloatArray]] = {}
        self.strides: deque[Json] = deque(maxlen=max_strides)
        self.snapshots: dict[str, Json] = {}
        self.decimations = 0
        self.points_dropped = 0

    def add_trace(self, channel: str, t_s: FloatArray, value: FloatArray) -> None:
        old = self.traces.get(channel)
        if old is not None:
            t_s, value = np.concatenate([old[0], t_s]), np.concatenate([old[1], value])
        while t_s.shape[0] > self.max_points:
            self.points_dropped += t_s.shape[0] - (t_s.shape[0] + 1) // 2
            t_s, value = t_s[::2], value[::2]
            self.decimations += 1
        self.traces[channel] = (t_s, value)

    @property
    def pending_points(self) -> int:
        """Trace samples waiting (another thread: `LiveHub.pending_points`)."""
        return sum(t.shape[0] for t, _ in self.traces.values())

    def take(self) -> Json:
        """Everything waiting, as a JSON-ready frame; the feed is empty afterwards."""
        frame: Json = {
            "traces": {
                channel: [np.round(t, 4).tolist(), np.round(v, 2).tolist()]
                for channel, (t, v) in self.traces.items()
            },
            "strides": list(self.strides),
            **self.snapshots,
        }
        self.traces.clear()
        self.strides.clear()
        self.snapshots = {}
        return frame


class LiveHub:
    """Thread-safe fan-out from the pipeline to the browsers' feeds."""

    def __init__(self, *, max_points: int = 600, max_strides: int = 100) -> None:
        self.max_points = max_points
        self.max_strides = max_strides
        self._lock = threading.Lock()
        self._feeds: set[ClientFeed] = set()
        self._snapshots: dict[str, Json] = {}
        self._strides: deque[Json] = deque(maxlen=max_strides)

    def subscribe(self) -> ClientFeed:
        """A new feed, primed with the current snapshots and the recent strides."""
        feed = ClientFeed(max_points=self.max_points, max_strides=self.max_strides)
        with self._lock:
            feed.snapshots = dict(self._snapshots)
            feed.strides.extend(self._strides)
            self._feeds.add(feed)
        return feed

    def unsubscribe(self, feed: ClientFeed) -> None:
        with self._lock:
            self._feeds.discard(feed)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._feeds)

    def publish_trace(self, channel: str, t_s: FloatArray, value: FloatArray) -> None:
        with self._lock:
            for feed in self._feeds:
                feed.add_trace(channel, t_s, value)

    def publish_strides(self, rows: list[Json]) -> None:
        with self._lock:
            self._strides.extend(rows)
            for feed in self._feeds:
                feed.strides.extend(rows)

    def publish_snapshot(self, name: str, value: Json) -> None:
        with self._lock:
            self._snapshots[name] = value
            for feed in self._feeds:
                feed.snapshots[name] = value

    def pending_points(self, feed: ClientFeed) -> int:
        with self._lock:
            return feed.pending_points

    def take(self, feed: ClientFeed) -> Json:
        with self._lock:
            return feed.take()

    def snapshot(self, name: str) -> Json | None:
        with self._lock:
            return self._snapshots.get(name)
