"""Gait analysis: events, strides, per-stride metrics."""
