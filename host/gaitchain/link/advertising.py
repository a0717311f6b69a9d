"""BLE advertising data: the AD structures a scanner receives, and what a gaitchain pod says in them
(docs/protocol.md, "GATT": the service UUID, the name, and service data with segment, side,
battery and pod id)."""

import struct
import uuid
from dataclasses import dataclass, field

from gaitchain.protocol import Segment, Side
from gaitchain.protocol.spec import ADV_SERVICE_DATA, SERVICE_UUID

_NAME_SHORT = 0x08
_NAME_COMPLETE = 0x09
_UUID16 = (0x02, 0x03)
_UUID128 = (0x06, 0x07)
_SERVICE_DATA_16 = 0x16
_SERVICE_DATA_128 = 0x21
_TX_POWER = 0x0A
_MANUFACTURER = 0xFF
_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"


def _uuid16(value: int) -> str:
    return f"0000{value:04x}{_BASE_UUID_TAIL}"


def _uuid128(le: bytes) -> str:
    return str(uuid.UUID(bytes=le[::-1]))


@dataclass
class AdvertisingFields:
    """The AD structures bleak's `AdvertisementData` reports (names: complete wins)."""

    local_name: str | None = None
    service_uuids: list[str] = field(default_factory=list[str])
    service_data: dict[str, bytes] = field(default_factory=dict[str, bytes])
    manufacturer_data: dict[int, bytes] = field(default_factory=dict[int, bytes])
    tx_power: int | None = None


def parse_advertising(data: bytes) -> AdvertisingFields:
    """Parse advertising (and scan response) bytes; a truncated last structure is ignored."""
    out = AdvertisingFields()
    short_name: str | None = None
    i = 0
    while i < len(data):
        length = data[i]
        if length == 0 or i + 1 + length > len(data):
            break
        kind, body = data[i + 1], bytes(data[i + 2 : i + 1 + length])
        i += 1 + length
        if kind == _NAME_COMPLETE:
            out.local_name = body.decode("utf-8", "replace")
        elif kind == _NAME_SHORT:
            short_name = body.decode("utf-8", "replace")
        elif kind in _UUID16:
            out.service_uuids += [
                _uuid16(v) for (v,) in struct.iter_unpack("<H", body[: len(body) // 2 * 2])
            ]
        elif kind in _UUID128:
            out.service_uuids += [_uuid128(body[k : k + 16]) for k in range(0, len(body) - 15, 16)]
        elif kind == _SERVICE_DATA_128 and len(body) >= 16:
            out.service_data[_uuid128(body[:16])] = body[16:]
        elif kind == _SERVICE_DATA_16 and len(body) >= 2:
            out.service_data[_uuid16(int.from_bytes(body[:2], "little"))] = body[2:]
        elif kind == _TX_POWER and len(body) == 1:
            out.tx_power = struct.unpack("<b", body)[0]
        elif kind == _MANUFACTURER and len(body) >= 2:
            out.manufacturer_data[int.from_bytes(body[:2], "little")] = body[2:]
    if out.local_name is None:
        out.local_name = short_name
    out.service_uuids = list(dict.fromkeys(out.service_uuids))
    return out


@dataclass(frozen=True)
class PodAdvert:
    """One pod as a scan shows it."""

    address: str
    name: str
    pod_id: int
    segment: Segment
    side: Side
    battery_pct: int | None
    rssi_dbm: int

    @property
    def placement(self) -> str:
        """`left foot`, `pelvis`, `unassigned`."""
        segment = self.segment.name.lower()
        if self.segment is Segment.UNASSIGNED or self.side is Side.CENTER:
            return segment
        return f"{self.side.name.lower()} {segment}"


def pod_advert(
    address: str,
    local_name: str | None,
    service_data: dict[str, bytes],
    rssi_dbm: int,
) -> PodAdvert | None:
    """The pod behind an advertisement, or None if it carries no gaitchain service data."""
    data = service_data.get(SERVICE_UUID)
    if data is None or len(data) < ADV_SERVICE_DATA.size:
        return None
    segment, side, battery, pod_id = ADV_SERVICE_DATA.unpack_from(data)
    try:
        segment_value, side_value = Segment(segment), Side(side)
    except ValueError:
        segment_value, side_value = Segment.UNASSIGNED, Side.CENTER
    return PodAdvert(
        address,
        local_name or f"gaitchain-{pod_id:04x}",
        pod_id,
        segment_value,
        side_value,
        None if battery > 100 else battery,
        rssi_dbm,
    )
