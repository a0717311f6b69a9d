"""Transports between host and pods: USB serial framing and port, the transport interface that
log sync and commands are written against, and an emulated BLE central for virtual pods."""
