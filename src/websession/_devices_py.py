"""Device core, reference implementation: device records, HID report descriptors, chooser filters.

The records are built from what the real libraries report: hidapi (the ``hid`` package), libusb
(the ``usb1`` package) and pyserial's port listing, plus the Linux sysfs attributes Chromium's
device services read through udev. The filters are those of WebHID, WebUSB and Web Serial with
Chromium's matching rules. ``native/_devices_c.pyx`` is the compiled twin with the same interface.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "SPP_SERVICE_CLASS_ID",
    "HidFilters",
    "HidRecord",
    "SerialFilters",
    "SerialRecord",
    "UsbFilters",
    "UsbRecord",
    "canonical_uuid",
    "hid_records",
    "parse_report_descriptor",
    "serial_records",
    "usb_records",
]

SPP_SERVICE_CLASS_ID = "00001101-0000-1000-8000-00805f9b34fb"
_BLUETOOTH_BASE = "-0000-1000-8000-00805f9b34fb"

_UNIT_SYSTEMS = {0: "none", 1: "si-linear", 2: "si-rotation", 3: "english-linear",
                 4: "english-rotation", 0xF: "vendor-defined"}
_UNIT_FACTORS = ("unitFactorLengthExponent", "unitFactorMassExponent", "unitFactorTimeExponent",
                 "unitFactorTemperatureExponent", "unitFactorCurrentExponent",
                 "unitFactorLuminousIntensityExponent")
_ENDPOINT_TYPES = ("control", "isochronous", "bulk", "interrupt")


# --------------------------------------------------------------------------- report descriptors

def _signed(value: int, size: int) -> int:
    bits = size * 8
    if size and value & (1 << (bits - 1)):
        return value - (1 << bits)
    return value


def _nibble(value: int) -> int:
    value &= 0xF
    return value - 16 if value > 7 else value


def _report_item(tag: int, flags: int, glob: Mapping[str, int], local: Mapping[str, Any]) -> dict[str, Any]:
    page = glob["usage_page"]

    def full(usage: int, size: int) -> int:
        # HID 1.11 §6.2.2.8: a 4-byte usage carries its own page in the high half.
        return usage if size == 4 else (page << 16) | usage

    usages = [full(u, s) for u, s in local["usages"]]
    unit = glob["unit"]
    item: dict[str, Any] = {
        "isAbsolute": not flags & 0x04,
        "isArray": not flags & 0x02,
        "isBufferedBytes": bool(flags & 0x100),
        "isConstant": bool(flags & 0x01),
        "isLinear": not flags & 0x10,
        "isRange": local["min"] is not None and local["max"] is not None,
        "isVolatile": bool(flags & 0x80) if tag != 8 else False,
        "hasNull": bool(flags & 0x40),
        "hasPreferredState": not flags & 0x20,
        "wrap": bool(flags & 0x08),
        "usages": usages,
        "usageMinimum": full(*local["min"]) if local["min"] is not None else 0,
        "usageMaximum": full(*local["max"]) if local["max"] is not None else 0,
        "reportSize": glob["report_size"],
        "reportCount": glob["report_count"],
        "unitExponent": _nibble(glob["unit_exponent"]),
        "unitSystem": _UNIT_SYSTEMS.get(unit & 0xF, "reserved"),
    }
    for i, name in enumerate(_UNIT_FACTORS):
        item[name] = _nibble(unit >> (4 * (i + 1)))
    item["logicalMinimum"] = glob["logical_minimum"]
    item["logicalMaximum"] = glob["logical_maximum"]
    item["physicalMinimum"] = glob["physical_minimum"]
    item["physicalMaximum"] = glob["physical_maximum"]
    return item


def _fresh_local() -> dict[str, Any]:
    return {"usages": [], "min": None, "max": None}


def _add_report(collection: dict[str, Any], key: str, report_id: int, item: dict[str, Any]) -> None:
    reports: list[dict[str, Any]] = collection[key]
    for report in reports:
        if report["reportId"] == report_id:
            report["items"].append(item)
            return
    reports.append({"reportId": report_id, "items": [item]})


def parse_report_descriptor(data: bytes) -> list[dict[str, Any]]:
    """Return the top-level collections of a HID report descriptor, in WebHID's shape.

    Each collection is ``{usagePage, usage, type, children, inputReports, outputReports,
    featureReports}`` and each report ``{reportId, items}`` (HID 1.11 §6.2.2; Chromium's
    ``HidReportDescriptor``). Parsing stops at a truncated item, as Chromium's does.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"report descriptor must be bytes, not {type(data).__name__}")
    data = bytes(data)
    top: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []
    glob: dict[str, int] = {
        "usage_page": 0, "logical_minimum": 0, "logical_maximum": 0, "physical_minimum": 0,
        "physical_maximum": 0, "unit_exponent": 0, "unit": 0, "report_size": 0,
        "report_id": 0, "report_count": 0,
    }
    saved: list[dict[str, int]] = []
    local = _fresh_local()
    pos, end = 0, len(data)
    while pos < end:
        prefix = data[pos]
        if prefix == 0xFE:  # long item (HID 1.11 §6.2.2.3): skip it whole
            if pos + 2 >= end:
                break
            pos += 3 + data[pos + 1]
            continue
        size = (0, 1, 2, 4)[prefix & 3]
        if pos + 1 + size > end:
            break
        value = int.from_bytes(data[pos + 1:pos + 1 + size], "little")
        pos += 1 + size
        kind, tag = (prefix >> 2) & 3, prefix >> 4
        if kind == 0:  # main
            if tag == 10:  # Collection
                usage = local["usages"][0] if local["usages"] else (
                    local["min"] if local["min"] is not None else (0, 1))
                page = (usage[0] >> 16) if usage[1] == 4 else glob["usage_page"]
                collection: dict[str, Any] = {
                    "usagePage": page, "usage": usage[0] & 0xFFFF, "type": value & 0xFF,
                    "children": [], "inputReports": [], "outputReports": [], "featureReports": [],
                }
                (stack[-1]["children"] if stack else top).append(collection)
                stack.append(collection)
            elif tag == 12:  # End Collection
                if stack:
                    stack.pop()
            elif tag in (8, 9, 11) and stack:  # Input, Output, Feature
                key = {8: "inputReports", 9: "outputReports", 11: "featureReports"}[tag]
                _add_report(stack[-1], key, glob["report_id"], _report_item(tag, value, glob, local))
            local = _fresh_local()
        elif kind == 1:  # global
            if tag == 0:
                glob["usage_page"] = value & 0xFFFF
            elif tag == 1:
                glob["logical_minimum"] = _signed(value, size)
            elif tag == 2:
                glob["logical_maximum"] = _signed(value, size)
            elif tag == 3:
                glob["physical_minimum"] = _signed(value, size)
            elif tag == 4:
                glob["physical_maximum"] = _signed(value, size)
            elif tag == 5:
                glob["unit_exponent"] = value
            elif tag == 6:
                glob["unit"] = value
            elif tag == 7:
                glob["report_size"] = value
            elif tag == 8:
                glob["report_id"] = value & 0xFF
            elif tag == 9:
                glob["report_count"] = value
            elif tag == 10:
                saved.append(dict(glob))
            elif tag == 11 and saved:
                glob = saved.pop()
        elif kind == 2:  # local
            if tag == 0:
                local["usages"].append((value, size))
            elif tag == 1:
                local["min"] = (value, size)
            elif tag == 2:
                local["max"] = (value, size)
    return top


def _top_usages(collections: Sequence[Mapping[str, Any]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(c["usagePage"]), int(c["usage"])) for c in collections)


# --------------------------------------------------------------------------- records

class HidRecord:
    """One HID interface (one ``hidraw`` node) as hidapi and the report descriptor describe it."""

    __slots__ = (
        "bus_type",
        "collections",
        "guid",
        "interface_number",
        "manufacturer",
        "path",
        "physical_id",
        "product_id",
        "product_name",
        "release",
        "serial_number",
        "usages",
        "vendor_id",
    )

    def __init__(self, path: str, vendor_id: int, product_id: int, serial_number: str,
                 manufacturer: str, product_name: str, release: int, interface_number: int,
                 bus_type: int, physical_id: str, guid: str,
                 usages: tuple[tuple[int, int], ...], collections: list[dict[str, Any]]) -> None:
        self.path = path
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.serial_number = serial_number
        self.manufacturer = manufacturer
        self.product_name = product_name
        self.release = release
        self.interface_number = interface_number
        self.bus_type = bus_type
        self.physical_id = physical_id
        self.guid = guid
        self.usages = usages
        self.collections = collections

    def to_dict(self) -> dict[str, Any]:
        """Return every field by name (for comparisons and the command line)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        return f"<HidRecord {self.path} {self.vendor_id:04x}:{self.product_id:04x}>"


class UsbRecord:
    """One USB device as libusb's descriptors (and sysfs strings, on Linux) describe it."""

    __slots__ = (
        "active_configuration",
        "address",
        "bus",
        "configurations",
        "device_class",
        "device_id",
        "device_protocol",
        "device_subclass",
        "device_version",
        "interface_classes",
        "manufacturer",
        "port_path",
        "product_id",
        "product_name",
        "serial_number",
        "usb_version",
        "vendor_id",
    )

    def __init__(self, bus: int, address: int, port_path: str, vendor_id: int, product_id: int,
                 device_class: int, device_subclass: int, device_protocol: int,
                 usb_version: int, device_version: int, manufacturer: str | None,
                 product_name: str | None, serial_number: str | None,
                 configurations: list[dict[str, Any]], active_configuration: int | None,
                 device_id: str, interface_classes: tuple[tuple[int, int, int], ...]) -> None:
        self.bus = bus
        self.address = address
        self.port_path = port_path
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.device_class = device_class
        self.device_subclass = device_subclass
        self.device_protocol = device_protocol
        self.usb_version = usb_version
        self.device_version = device_version
        self.manufacturer = manufacturer
        self.product_name = product_name
        self.serial_number = serial_number
        self.configurations = configurations
        self.active_configuration = active_configuration
        self.device_id = device_id
        self.interface_classes = interface_classes

    def to_dict(self) -> dict[str, Any]:
        """Return every field by name (for comparisons and the command line)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        return f"<UsbRecord {self.bus}-{self.port_path} {self.vendor_id:04x}:{self.product_id:04x}>"


class SerialRecord:
    """One serial port as pyserial lists it; ``vendor_id``/``product_id`` are -1 when not USB."""

    __slots__ = (
        "bluetooth_service_class_id",
        "display_name",
        "location",
        "manufacturer",
        "name",
        "path",
        "port_id",
        "product_id",
        "serial_number",
        "vendor_id",
    )

    def __init__(self, path: str, name: str, vendor_id: int, product_id: int,
                 serial_number: str | None, display_name: str | None, manufacturer: str | None,
                 location: str | None, bluetooth_service_class_id: str | None,
                 port_id: str) -> None:
        self.path = path
        self.name = name
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.serial_number = serial_number
        self.display_name = display_name
        self.manufacturer = manufacturer
        self.location = location
        self.bluetooth_service_class_id = bluetooth_service_class_id
        self.port_id = port_id

    def to_dict(self) -> dict[str, Any]:
        """Return every field by name (for comparisons and the command line)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        return f"<SerialRecord {self.path}>"


def _device_id(namespace: uuid.UUID, key: str) -> str:
    return str(uuid.uuid5(namespace, key))


# --------------------------------------------------------------------------- enumeration

def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _text(path: str) -> str | None:
    raw = _read(path)
    if raw is None:
        return None
    return raw.decode("utf-8", "replace").rstrip("\n")


def _hid_sysfs(path: str) -> tuple[bytes | None, str | None]:
    """Read a hidraw node's report descriptor and its USB device's sysfs path (Linux)."""
    name = os.path.basename(path)
    base = f"/sys/class/hidraw/{name}/device"
    descriptor = _read(base + "/report_descriptor")
    physical: str | None = None
    if descriptor is not None:
        hid_dir = os.path.realpath(base)
        # hidraw → hid device → USB interface → USB device (Chromium's physical device id).
        physical = os.path.dirname(os.path.dirname(hid_dir))
    return descriptor, physical


def hid_records(lib: Any, cache: dict[Any, HidRecord], namespace: uuid.UUID) -> list[HidRecord]:
    """Enumerate HID interfaces through hidapi (``lib`` is the ``hid`` module).

    hidapi lists one entry per top-level collection; entries of one node are merged. The report
    descriptor of a node seen for the first time is read and parsed; ``cache`` keeps records of
    nodes already seen, so ids stay stable and nothing is parsed twice.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for info in lib.enumerate():
        raw_path = info["path"]
        path = raw_path.decode("utf-8", "surrogateescape") if isinstance(raw_path, bytes) else str(raw_path)
        groups.setdefault(path, []).append(info)
    return [_hid_record(path, infos, cache, namespace) for path, infos in groups.items()]


def _hid_record(path: str, infos: Sequence[Mapping[str, Any]], cache: dict[Any, HidRecord],
                namespace: uuid.UUID) -> HidRecord:
    info = infos[0]
    bus = info.get("bus_type", 0)
    bus_type = int(getattr(bus, "value", bus) or 0)
    serial = info["serial_number"] or ""
    key = (path, int(info["vendor_id"]), int(info["product_id"]), serial,
           int(info["release_number"]), int(info["interface_number"]), bus_type)
    record = cache.get(key)
    if record is not None:
        return record
    descriptor, physical = _hid_sysfs(path)
    if descriptor is not None:
        collections = parse_report_descriptor(descriptor)
    else:
        collections = [
            {"usagePage": int(e["usage_page"]), "usage": int(e["usage"]), "type": 1,
             "children": [], "inputReports": [], "outputReports": [], "featureReports": []}
            for e in infos
        ]
    ident = physical or f"{key[1]:04x}:{key[2]:04x}:{serial or path}"
    record = HidRecord(
        path, key[1], key[2], serial, info["manufacturer_string"] or "",
        info["product_string"] or "", key[4], key[5], bus_type,
        _device_id(namespace, "hid-device|" + ident),
        _device_id(namespace, "hid|" + "|".join(map(str, key))),
        _top_usages(collections), collections,
    )
    cache[key] = record
    return record


def _endpoint(address: int, attributes: int, packet_size: int) -> dict[str, Any]:
    return {
        "endpointNumber": address & 0x0F,
        "direction": "in" if address & 0x80 else "out",
        "type": _ENDPOINT_TYPES[attributes & 3],
        "packetSize": packet_size & 0x7FF,
    }


def _usb_sysfs(bus: int, ports: str) -> dict[str, Any]:
    base = f"/sys/bus/usb/devices/{bus}-{ports}" if ports else f"/sys/bus/usb/devices/usb{bus}"
    active = _text(base + "/bConfigurationValue")
    return {
        "manufacturer": _text(base + "/manufacturer"),
        "product": _text(base + "/product"),
        "serial": _text(base + "/serial"),
        "active": int(active) if active and active.strip().isdigit() else None,
        "base": base,
    }


def _interface_name(sysfs: dict[str, Any], config: int, number: int) -> str | None:
    if sysfs["active"] != config:
        return None
    base = sysfs["base"]
    sysname = os.path.basename(base)
    return _text(f"{base}/{sysname}:{config}.{number}/interface")


def usb_records(devices: Iterable[Any], cache: dict[Any, UsbRecord],
                namespace: uuid.UUID) -> list[UsbRecord]:
    """Turn ``usb1.USBDevice`` objects into records (descriptors from libusb, strings from sysfs).

    Chromium reads a device's strings from udev on Linux rather than opening the device;
    ``cache`` keeps the records of devices already seen at the same bus address.
    """
    out: list[UsbRecord] = []
    for dev in devices:
        bus = int(dev.getBusNumber())
        address = int(dev.getDeviceAddress())
        ports = ".".join(str(p) for p in dev.getPortNumberList())
        desc = dev.device_descriptor
        key = (bus, address, ports, int(desc.idVendor), int(desc.idProduct), int(desc.bcdDevice))
        record = cache.get(key)
        if record is None:
            sysfs = _usb_sysfs(bus, ports)
            configurations: list[dict[str, Any]] = []
            classes: list[tuple[int, int, int]] = []
            for config in dev.iterConfigurations():
                value = int(config.getConfigurationValue())
                interfaces = []
                for interface in config:
                    alternates = []
                    for setting in interface:
                        triple = (int(setting.getClass()), int(setting.getSubClass()),
                                  int(setting.getProtocol()))
                        classes.append(triple)
                        number = int(setting.getNumber())
                        alternate: dict[str, Any] = {
                            "alternateSetting": int(setting.getAlternateSetting()),
                            "interfaceClass": triple[0],
                            "interfaceSubclass": triple[1],
                            "interfaceProtocol": triple[2],
                            "endpoints": [
                                _endpoint(int(e.getAddress()), int(e.getAttributes()),
                                          int(e.getMaxPacketSize()))
                                for e in setting
                            ],
                        }
                        name = _interface_name(sysfs, value, number)
                        if name is not None:
                            alternate["interfaceName"] = name
                        alternates.append(alternate)
                    if alternates:
                        interfaces.append({
                            "interfaceNumber": int(interface[0].getNumber()),
                            "alternate": alternates[0],
                            "alternates": alternates,
                        })
                configurations.append({
                    "configurationValue": value, "configurationName": "", "interfaces": interfaces,
                })
            serial = sysfs["serial"]
            record = UsbRecord(
                bus, address, ports, key[3], key[4], int(desc.bDeviceClass),
                int(desc.bDeviceSubClass), int(desc.bDeviceProtocol), int(desc.bcdUSB), key[5],
                sysfs["manufacturer"], sysfs["product"], serial, configurations,
                sysfs["active"] if sysfs["active"] is not None else (
                    configurations[0]["configurationValue"] if configurations else None),
                _device_id(namespace, f"usb|{bus}-{ports}|{address}|{key[3]}:{key[4]}|{serial}"),
                tuple(classes),
            )
            cache[key] = record
        out.append(record)
    return out


def serial_records(ports: Iterable[Any], cache: dict[Any, SerialRecord],
                   namespace: uuid.UUID) -> list[SerialRecord]:
    """Turn pyserial ``ListPortInfo`` objects into records."""
    out: list[SerialRecord] = []
    for port in ports:
        vid = -1 if port.vid is None else int(port.vid)
        pid = -1 if port.pid is None else int(port.pid)
        key = (port.device, vid, pid, port.serial_number, port.location)
        record = cache.get(key)
        if record is None:
            name = os.path.basename(port.device)
            display = port.product or (port.description if port.description not in (None, "n/a") else None)
            bluetooth = SPP_SERVICE_CLASS_ID if name.startswith("rfcomm") else None
            record = SerialRecord(
                port.device, name, vid, pid, port.serial_number, display, port.manufacturer,
                port.location, bluetooth,
                uuid.uuid5(namespace, "serial|" + "|".join(map(str, key))).hex.upper(),
            )
            cache[key] = record
        out.append(record)
    return out


# --------------------------------------------------------------------------- filters

def _where(argument: str, index: int, key: str) -> str:
    return f"{argument}[{index}].{key}"


def _int_field(value: Any, where: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where} must be an integer, not {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise TypeError(f"{where} is outside the range 0..{maximum}: {value}")
    return value


def _filter_dicts(filters: Any, argument: str) -> list[Mapping[str, Any]]:
    if filters is None:
        return []
    if isinstance(filters, (Mapping, str, bytes)) or not isinstance(filters, Iterable):
        raise TypeError(f"{argument} must be a list of filter objects")
    out = []
    for i, f in enumerate(filters):
        if not isinstance(f, Mapping):
            raise TypeError(f"{argument}[{i}] must be a filter object (a dict), not {type(f).__name__}")
        out.append(f)
    return out


def _keys(f: Mapping[str, Any], spec: Mapping[str, str], argument: str, i: int) -> dict[str, Any]:
    got: dict[str, Any] = {}
    for k, v in f.items():
        name = spec.get(k)
        if name is None:
            raise TypeError(f"{argument}[{i}] has an unknown key {k!r}")
        if v is not None:
            got[name] = v
    return got


_HID_KEYS = {"vendorId": "vendor_id", "vendor_id": "vendor_id", "productId": "product_id",
             "product_id": "product_id", "usagePage": "usage_page", "usage_page": "usage_page",
             "usage": "usage"}
_USB_KEYS = {"vendorId": "vendor_id", "vendor_id": "vendor_id", "productId": "product_id",
             "product_id": "product_id", "classCode": "class_code", "class_code": "class_code",
             "subclassCode": "subclass_code", "subclass_code": "subclass_code",
             "protocolCode": "protocol_code", "protocol_code": "protocol_code",
             "serialNumber": "serial_number", "serial_number": "serial_number"}
_SERIAL_KEYS = {"usbVendorId": "usb_vendor_id", "usb_vendor_id": "usb_vendor_id",
                "usbProductId": "usb_product_id", "usb_product_id": "usb_product_id",
                "bluetoothServiceClassId": "bluetooth_service_class_id",
                "bluetooth_service_class_id": "bluetooth_service_class_id"}
_EMPTY_EXCLUSIONS = "'exclusionFilters', if present, must contain at least one filter."


def _hid_filter(f: Mapping[str, Any], argument: str, i: int) -> tuple[int, int, int, int]:
    """Validate one WebHID filter (blink ``hid.cc``); -1 marks an absent member."""
    got = _keys(f, _HID_KEYS, argument, i)
    vals = {k: _int_field(v, _where(argument, i, k), 0xFFFF) for k, v in got.items()}
    if not vals:
        raise TypeError("A filter must provide a property to filter by.")
    if "product_id" in vals and "vendor_id" not in vals:
        raise TypeError("A filter containing a productId must also contain a vendorId.")
    if "usage" in vals and "usage_page" not in vals:
        raise TypeError("A filter containing a usage must also contain a usagePage.")
    return (vals.get("vendor_id", -1), vals.get("product_id", -1), vals.get("usage_page", -1),
            vals.get("usage", -1))


def _hid_matches(f: tuple[int, int, int, int], r: HidRecord) -> bool:
    vendor, product, page, usage = f
    if vendor >= 0 and (r.vendor_id != vendor or (product >= 0 and r.product_id != product)):
        return False
    if page >= 0:
        for p, u in r.usages:
            if p == page and (usage < 0 or u == usage):
                return True
        return False
    return True


class HidFilters:
    """WebHID ``filters`` and ``exclusionFilters``, validated; ``select`` applies them."""

    __slots__ = ("exclusions", "filters")

    def __init__(self, filters: Any = None, exclusion_filters: Any = None) -> None:
        self.filters = [_hid_filter(f, "filters", i)
                        for i, f in enumerate(_filter_dicts(filters, "filters"))]
        ex = _filter_dicts(exclusion_filters, "exclusionFilters")
        if exclusion_filters is not None and not ex:
            raise TypeError(_EMPTY_EXCLUSIONS)
        self.exclusions = [_hid_filter(f, "exclusionFilters", i) for i, f in enumerate(ex)]

    def matches(self, record: HidRecord) -> bool:
        """Tell whether ``record`` passes the filters and no exclusion filter."""
        if self.filters and not any(_hid_matches(f, record) for f in self.filters):
            return False
        return not any(_hid_matches(f, record) for f in self.exclusions)

    def select(self, records: Iterable[HidRecord]) -> list[HidRecord]:
        """Return the records that pass, in order."""
        return [r for r in records if self.matches(r)]


def _usb_filter(f: Mapping[str, Any], argument: str, i: int) -> tuple[int, int, int, int, int, str | None]:
    """Validate one WebUSB filter (blink ``usb.cc``); -1 marks an absent member."""
    got = _keys(f, _USB_KEYS, argument, i)
    vals: dict[str, int] = {}
    serial = got.pop("serial_number", None)
    if serial is not None and not isinstance(serial, str):
        raise TypeError(f"{_where(argument, i, 'serialNumber')} must be a string, not {type(serial).__name__}")
    for k, v in got.items():
        vals[k] = _int_field(v, _where(argument, i, k), 0xFFFF if k.endswith("_id") else 0xFF)
    if "product_id" in vals and "vendor_id" not in vals:
        raise TypeError("A filter containing a productId must also contain a vendorId.")
    if "subclass_code" in vals and "class_code" not in vals:
        raise TypeError("A filter containing a subclassCode must also contain a classCode.")
    if "protocol_code" in vals and "subclass_code" not in vals:
        raise TypeError("A filter containing a protocolCode must also contain a subclassCode.")
    return (vals.get("vendor_id", -1), vals.get("product_id", -1), vals.get("class_code", -1),
            vals.get("subclass_code", -1), vals.get("protocol_code", -1), serial)


def _class_matches(cls: int, sub: int, proto: int, c: int, s: int, p: int) -> bool:
    return c == cls and (sub < 0 or (s == sub and (proto < 0 or p == proto)))


def _usb_matches(f: tuple[int, int, int, int, int, str | None], r: UsbRecord) -> bool:
    # Chromium device/base/usb/usb_utils.cc UsbDeviceFilterMatches.
    vendor, product, cls, sub, proto, serial = f
    if vendor >= 0 and (r.vendor_id != vendor or (product >= 0 and r.product_id != product)):
        return False
    if serial is not None and r.serial_number != serial:
        return False
    if cls >= 0:
        if _class_matches(cls, sub, proto, r.device_class, r.device_subclass, r.device_protocol):
            return True
        for c, s, p in r.interface_classes:
            if _class_matches(cls, sub, proto, c, s, p):
                return True
        return False
    return True


class UsbFilters:
    """WebUSB ``filters`` and ``exclusionFilters``, validated; ``select`` applies them."""

    __slots__ = ("exclusions", "filters")

    def __init__(self, filters: Any = None, exclusion_filters: Any = None) -> None:
        self.filters = [_usb_filter(f, "filters", i)
                        for i, f in enumerate(_filter_dicts(filters, "filters"))]
        ex = _filter_dicts(exclusion_filters, "exclusionFilters")
        if exclusion_filters is not None and not ex:
            raise TypeError(_EMPTY_EXCLUSIONS)
        self.exclusions = [_usb_filter(f, "exclusionFilters", i) for i, f in enumerate(ex)]

    def matches(self, record: UsbRecord) -> bool:
        """Tell whether ``record`` passes the filters and no exclusion filter."""
        if self.filters and not any(_usb_matches(f, record) for f in self.filters):
            return False
        return not any(_usb_matches(f, record) for f in self.exclusions)

    def select(self, records: Iterable[UsbRecord]) -> list[UsbRecord]:
        """Return the records that pass, in order."""
        return [r for r in records if self.matches(r)]


def canonical_uuid(value: Any, where: str) -> str:
    """Return a Bluetooth UUID in canonical form: a 16/32-bit alias or a UUID string."""
    if isinstance(value, bool):
        raise TypeError(f"{where} must be a UUID string or an integer alias, not bool")
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFFFFFF:
            raise TypeError(f"{where} is outside the range 0..4294967295: {value}")
        return f"{value:08x}" + _BLUETOOTH_BASE
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            parsed = uuid.UUID(text)
        except ValueError:
            raise TypeError(f"{where} is not a valid UUID: {value!r}") from None
        if len(text) != 36:
            raise TypeError(f"{where} is not a valid UUID: {value!r}")
        return str(parsed)
    raise TypeError(f"{where} must be a UUID string or an integer alias, not {type(value).__name__}")


def _serial_filter(f: Mapping[str, Any], i: int) -> tuple[int, int, str | None]:
    """Validate one Web Serial filter (blink ``serial.cc``); -1 marks an absent member."""
    got = _keys(f, _SERIAL_KEYS, "filters", i)
    bt = got.pop("bluetooth_service_class_id", None)
    vals = {k: _int_field(v, _where("filters", i, k), 0xFFFF) for k, v in got.items()}
    if bt is not None:
        if vals:
            raise TypeError(
                "A filter cannot specify both bluetoothServiceClassId and usbVendorId or usbProductId.")
        return (-1, -1, canonical_uuid(bt, _where("filters", i, "bluetoothServiceClassId")))
    if "usb_vendor_id" not in vals:
        if "usb_product_id" in vals:
            raise TypeError("A filter containing a usbProductId must also specify a usbVendorId.")
        raise TypeError("A filter must provide a property to filter by.")
    return (vals["usb_vendor_id"], vals.get("usb_product_id", -1), None)


def _serial_matches(f: tuple[int, int, str | None], r: SerialRecord) -> bool:
    # Chromium chrome/browser/serial/serial_chooser_controller.cc FilterMatchesAny.
    vendor, product, bt = f
    if bt is not None:
        return r.bluetooth_service_class_id == bt
    if r.vendor_id < 0 or r.vendor_id != vendor:
        return False
    return product < 0 or r.product_id == product


class SerialFilters:
    """Web Serial ``filters``, validated; ``select`` applies them."""

    __slots__ = ("filters",)

    def __init__(self, filters: Any = None) -> None:
        self.filters = [_serial_filter(f, i) for i, f in enumerate(_filter_dicts(filters, "filters"))]

    def matches(self, record: SerialRecord) -> bool:
        """Tell whether ``record`` passes the filters."""
        return not self.filters or any(_serial_matches(f, record) for f in self.filters)

    def select(self, records: Iterable[SerialRecord]) -> list[SerialRecord]:
        """Return the records that pass, in order."""
        return [r for r in records if self.matches(r)]
