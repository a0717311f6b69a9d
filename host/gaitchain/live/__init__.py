"""The live coach dashboard: pods -> link -> stream -> fusion -> strides and metrics -> browser.

* `link`: the transport seam (`PodLink`: packets in, bytes out, link up/down);
  `ble_link.BlePodLink` implements it over the BLE link code (bleak), on real pods or on
  virtual pods on a Bumble backend.
* `pipeline`: `LivePipeline` (one `step()` per tick on an injected clock) and `LiveRunner`.
* `pod_fusion`, `angles`, `strides`, `metrics`: per-pod fusion, trace angles, live strides and
  the stride metrics provider interface (`StrideMetricsProvider`).
* `verdict`: the optional chain-driver verdict source.
* `hub`, `server`, `page`: bounded per-browser feeds, the tornado server, the Bokeh page.
* `app`: `LiveApp` and `PacedClock`, what `gaitchain live` and `gaitchain demo` run.
"""
