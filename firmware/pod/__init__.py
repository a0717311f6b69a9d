"""The pod firmware: small modules with one job each (see docs/protocol.md for the wire format)."""
