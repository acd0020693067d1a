"""The device core on both implementations: report descriptors, records and chooser filters.

No device is needed here: records are built directly, report descriptors come from the umockdev
recordings and from hypothesis. The enumeration through the real libraries is tested in
``test_devices_umockdev.py``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import CORPORA, load_core
from umockdev_devices import GAMEPAD_REPORT_DESCRIPTOR

RECORDINGS = CORPORA / "umockdev"


def _recorded_descriptors() -> list[tuple[str, bytes]]:
    found = []
    for path in sorted(RECORDINGS.rglob("*")):
        if not path.is_file() or path.suffix in (".ioctl", ".script", ".pcapng", ".xz", ".md"):
            continue
        text = path.read_text(errors="replace")
        for i, match in enumerate(re.finditer(r"^H: report_descriptor=([0-9A-Fa-f]+)$", text, re.MULTILINE)):
            found.append((f"{path.relative_to(RECORDINGS)}#{i}", bytes.fromhex(match.group(1))))
    return found


DESCRIPTORS = _recorded_descriptors()


def test_the_compiled_core_is_loaded() -> None:
    module = load_core("devices", "c")
    assert module.__file__ is not None and not module.__file__.endswith(".py")
    assert module.HidFilters.__module__ == "websession._devices_c"


def test_recordings_hold_report_descriptors() -> None:
    assert {name.split("#")[0] for name, _ in DESCRIPTORS} >= {
        "umockdev-project/hidraw/fido2.umockdev", "libfprint/elanspi/device-hidraw"}


@pytest.mark.parametrize("name,data", DESCRIPTORS, ids=[n for n, _ in DESCRIPTORS])
def test_recorded_report_descriptors_parse_alike(implementation: str, name: str, data: bytes) -> None:
    core = load_core("devices", implementation)
    reference = load_core("devices", "python").parse_report_descriptor(data)
    parsed = core.parse_report_descriptor(data)
    assert parsed == reference and parsed


def test_fido_report_descriptor(implementation: str) -> None:
    core = load_core("devices", implementation)
    data = next(d for n, d in DESCRIPTORS if n.startswith("umockdev-project/hidraw/fido2"))
    [fido] = core.parse_report_descriptor(data)
    assert (fido["usagePage"], fido["usage"], fido["type"]) == (0xF1D0, 1, 1)
    [inp] = fido["inputReports"]
    [out] = fido["outputReports"]
    assert inp["reportId"] == out["reportId"] == 0
    for report, usage in ((inp, 0xF1D00020), (out, 0xF1D00021)):
        [item] = report["items"]
        assert item["usages"] == [usage]
        assert (item["reportSize"], item["reportCount"]) == (8, 64)
        assert (item["logicalMinimum"], item["logicalMaximum"]) == (0, 255)
        assert item["isAbsolute"] and not item["isArray"] and not item["isConstant"]
    assert fido["children"] == [] and fido["featureReports"] == []


def test_gamepad_report_descriptor(implementation: str) -> None:
    core = load_core("devices", implementation)
    pad, vendor = core.parse_report_descriptor(GAMEPAD_REPORT_DESCRIPTOR)
    buttons, axes = pad["inputReports"][0]["items"]
    assert buttons["isRange"] and buttons["usageMinimum"] == 0x00090001
    assert buttons["usageMaximum"] == 0x00090008 and buttons["usages"] == []
    assert axes["usages"] == [0x00010030, 0x00010031] and axes["logicalMinimum"] == -127
    assert [r["reportId"] for r in pad["outputReports"]] == [2]
    assert vendor["usagePage"] == 0xFF00 and vendor["featureReports"][0]["items"][0]["reportCount"] == 64


def test_units_nested_collections_push_pop_and_truncation(implementation: str) -> None:
    core = load_core("devices", implementation)
    data = bytes.fromhex(
        "05010902a101"  # Mouse application
        "0901a100"  # Pointer physical collection (a child)
        "a4"  # Push
        "0509"  # Usage Page (Buttons) inside the push
        "b4"  # Pop: back to Generic Desktop
        "0930"  # Usage X
        "1601ff26ff00"  # logical -255..255
        "6511550e"  # unit: SI linear, length^1; unit exponent -2
        "750895018106"  # 8-bit x1, Input (Data,Var,Rel)
        "c0c0"
        "0b01000c00"  # a 4-byte usage before the truncation
        "26ff"  # truncated 2-byte item: parsing stops
    )
    [mouse] = core.parse_report_descriptor(data)
    [pointer] = mouse["children"]
    assert (mouse["usage"], pointer["usage"], pointer["type"]) == (2, 1, 0)
    [item] = pointer["inputReports"][0]["items"]
    assert item["usages"] == [0x00010030]
    assert (item["logicalMinimum"], item["logicalMaximum"]) == (-255, 255)
    assert item["unitSystem"] == "si-linear" and item["unitFactorLengthExponent"] == 1
    assert item["unitExponent"] == -2 and not item["isAbsolute"]
    with pytest.raises(TypeError, match="report descriptor must be bytes"):
        core.parse_report_descriptor("05 01")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_report_descriptors_parse_alike(data: bytes) -> None:
    py = load_core("devices", "python").parse_report_descriptor(data)
    assert load_core("devices", "c").parse_report_descriptor(data) == py


_ITEM = st.tuples(
    st.sampled_from([0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64, 0x74, 0x84, 0x94, 0xA4, 0xB4,
                     0x08, 0x18, 0x28, 0x80, 0x90, 0xB0, 0xA0, 0xC0]),
    st.sampled_from([0, 1, 2, 3]),
    st.integers(0, 0xFFFFFFFF),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ITEM, max_size=60))
def test_structured_report_descriptors_parse_alike(items: list[tuple[int, int, int]]) -> None:
    data = b""
    for prefix, size_code, value in items:
        size = (0, 1, 2, 4)[size_code]
        data += bytes([prefix | size_code]) + (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    py = load_core("devices", "python").parse_report_descriptor(data)
    assert load_core("devices", "c").parse_report_descriptor(data) == py


# --------------------------------------------------------------------------- filters

def _hid(core: Any, vendor: int, product: int, usages: tuple[tuple[int, int], ...], n: int = 0) -> Any:
    return core.HidRecord(f"/dev/hidraw{n}", vendor, product, "", "", f"dev{n}", 0x100, 0, 1,
                          f"phys{n}", f"guid{n}", usages, [])


def _usb(core: Any, vendor: int, product: int, klass: tuple[int, int, int],
         interfaces: tuple[tuple[int, int, int], ...], serial: str | None, n: int = 0) -> Any:
    return core.UsbRecord(1, n + 2, str(n + 1), vendor, product, *klass, 0x0200, 0x0100, None,
                          f"dev{n}", serial, [], 1, f"id{n}", interfaces)


def _serial(core: Any, vendor: int, product: int, bt: str | None = None, n: int = 0) -> Any:
    return core.SerialRecord(f"/dev/ttyACM{n}", f"ttyACM{n}", vendor, product, None, None, None,
                             None, bt, f"PORT{n}")


def test_hid_filters(implementation: str) -> None:
    core = load_core("devices", implementation)
    records = [_hid(core, 1, 2, ((1, 4), (0xFF00, 1)), 0), _hid(core, 1, 3, ((1, 6),), 1),
               _hid(core, 5, 2, (), 2)]

    def pick(filters: Any, exclusions: Any = None) -> list[int]:
        return [records.index(r) for r in core.HidFilters(filters, exclusions).select(records)]

    assert pick(None) == pick([]) == [0, 1, 2]
    assert pick([{"vendorId": 1}]) == [0, 1]
    assert pick([{"vendorId": 1, "productId": 3}]) == [1]
    assert pick([{"usagePage": 0xFF00}]) == [0]
    assert pick([{"usagePage": 1, "usage": 6}]) == [1]
    assert pick([{"usage_page": 1, "usage": 5}]) == []
    assert pick([{"vendorId": 5}, {"usagePage": 1, "usage": 4}]) == [0, 2]
    assert pick([], [{"productId": 2, "vendorId": 1}]) == [1, 2]
    assert pick([{"vendorId": 1}], [{"usagePage": 1}]) == []
    assert core.HidFilters([{"vendorId": 1}]).matches(records[0])


def test_usb_filters(implementation: str) -> None:
    core = load_core("devices", implementation)
    records = [
        _usb(core, 1, 2, (0, 0, 0), ((3, 1, 1), (0xFF, 0x42, 1)), "A", 0),
        _usb(core, 1, 3, (2, 0, 0), ((2, 2, 1), (0x0A, 0, 0)), None, 1),
        _usb(core, 7, 2, (0xFF, 0, 0), (), "B", 2),
    ]

    def pick(filters: Any, exclusions: Any = None) -> list[int]:
        return [records.index(r) for r in core.UsbFilters(filters, exclusions).select(records)]

    assert pick([]) == pick([{}]) == [0, 1, 2]
    assert pick([{"vendorId": 1, "productId": 3}]) == [1]
    assert pick([{"classCode": 3}]) == [0]
    assert pick([{"classCode": 3, "subclassCode": 1, "protocolCode": 2}]) == []
    assert pick([{"classCode": 2}]) == [1]  # the device class
    assert pick([{"classCode": 0xFF}]) == [0, 2]
    assert pick([{"classCode": 0xFF, "subclassCode": 0x42}]) == [0]
    assert pick([{"serialNumber": "B"}]) == [2]
    assert pick([{"serial_number": "A", "vendorId": 7}]) == []
    assert pick([], [{"classCode": 0x0A}]) == [0, 2]


def test_serial_filters(implementation: str) -> None:
    core = load_core("devices", implementation)
    records = [_serial(core, 0x2341, 0x43, None, 0), _serial(core, 0x2341, 0x8036, None, 1),
               _serial(core, -1, -1, None, 2), _serial(core, -1, -1, core.SPP_SERVICE_CLASS_ID, 3)]

    def pick(filters: Any) -> list[int]:
        return [records.index(r) for r in core.SerialFilters(filters).select(records)]

    assert pick([]) == [0, 1, 2, 3]
    assert pick([{"usbVendorId": 0x2341}]) == [0, 1]
    assert pick([{"usbVendorId": 0x2341, "usbProductId": 0x43}]) == [0]
    assert pick([{"bluetoothServiceClassId": 0x1101}]) == [3]
    assert pick([{"bluetoothServiceClassId": "00001101-0000-1000-8000-00805F9B34FB"}]) == [3]


@pytest.mark.parametrize("kind,filters,message", [
    ("hid", [{}], "A filter must provide a property to filter by."),
    ("hid", [{"productId": 1}], "A filter containing a productId must also contain a vendorId."),
    ("hid", [{"usage": 1}], "A filter containing a usage must also contain a usagePage."),
    ("hid", [{"vendorId": -1}], r"filters\[0\].vendor_id is outside the range 0..65535: -1"),
    ("hid", [{"vendorId": True}], r"filters\[0\].vendor_id must be an integer, not bool"),
    ("hid", [{"vendorID": 1}], r"filters\[0\] has an unknown key 'vendorID'"),
    ("hid", {"vendorId": 1}, "filters must be a list of filter objects"),
    ("hid", [1], r"filters\[0\] must be a filter object \(a dict\), not int"),
    ("usb", [{"productId": 1}], "A filter containing a productId must also contain a vendorId."),
    ("usb", [{"subclassCode": 1}], "A filter containing a subclassCode must also contain a classCode."),
    ("usb", [{"classCode": 1, "protocolCode": 1}],
     "A filter containing a protocolCode must also contain a subclassCode."),
    ("usb", [{"classCode": 256}], r"filters\[0\].class_code is outside the range 0..255: 256"),
    ("usb", [{"serialNumber": 5}], r"filters\[0\].serialNumber must be a string, not int"),
    ("serial", [{}], "A filter must provide a property to filter by."),
    ("serial", [{"usbProductId": 1}], "A filter containing a usbProductId must also specify a usbVendorId."),
    ("serial", [{"usbVendorId": 1, "bluetoothServiceClassId": 1}],
     "A filter cannot specify both bluetoothServiceClassId and usbVendorId or usbProductId."),
    ("serial", [{"bluetoothServiceClassId": "nope"}],
     r"filters\[0\].bluetoothServiceClassId is not a valid UUID: 'nope'"),
])
def test_bad_filters_name_the_problem(implementation: str, kind: str, filters: Any, message: str) -> None:
    core = load_core("devices", implementation)
    cls = {"hid": core.HidFilters, "usb": core.UsbFilters, "serial": core.SerialFilters}[kind]
    with pytest.raises(TypeError, match=message):
        cls(filters)


@pytest.mark.parametrize("kind", ["hid", "usb"])
def test_empty_exclusion_filters_are_refused(implementation: str, kind: str) -> None:
    core = load_core("devices", implementation)
    cls = core.HidFilters if kind == "hid" else core.UsbFilters
    with pytest.raises(TypeError, match="'exclusionFilters', if present, must contain at least one filter."):
        cls([], [])
    with pytest.raises(TypeError, match=r"exclusionFilters\[0\] has an unknown key 'x'"):
        cls([], [{"x": 1}])


_VALUE = st.one_of(st.integers(-2, 70000), st.booleans(), st.none(), st.text(max_size=3),
                   st.sampled_from([0, 1, 3, 0xFF, 0xFF00, 0xFFFF]))
_HID_FILTER = st.dictionaries(st.sampled_from(["vendorId", "productId", "usagePage", "usage",
                                               "usage_page", "bogus"]), _VALUE, max_size=3)
_USB_FILTER = st.dictionaries(st.sampled_from(["vendorId", "productId", "classCode", "subclassCode",
                                               "protocolCode", "serialNumber"]), _VALUE, max_size=4)
_SERIAL_FILTER = st.dictionaries(st.sampled_from(["usbVendorId", "usbProductId",
                                                  "bluetoothServiceClassId"]), _VALUE, max_size=2)


def _outcome(make: Any) -> Any:
    try:
        return ("ok", make())
    except TypeError as exc:
        return ("error", str(exc))


@settings(max_examples=300, deadline=None)
@given(st.lists(_HID_FILTER, max_size=3), st.none() | st.lists(_HID_FILTER, max_size=2),
       st.lists(st.tuples(st.sampled_from([0, 1, 0xFFFF]), st.sampled_from([0, 3, 0xFFFF]),
                          st.lists(st.tuples(st.sampled_from([0, 1, 0xFF00]),
                                             st.sampled_from([0, 1, 6])), max_size=3)),
                max_size=8))
def test_hid_filters_differential(filters: Any, exclusions: Any, devices: Any) -> None:
    results = []
    for implementation in ("python", "c"):
        core = load_core("devices", implementation)
        records = [_hid(core, v, p, tuple(u), i) for i, (v, p, u) in enumerate(devices)]

        def run(core: Any = core, records: list[Any] = records) -> Any:
            f = core.HidFilters(filters, exclusions)
            return f.filters, f.exclusions, [r.path for r in f.select(records)]

        results.append(_outcome(run))
    assert results[0] == results[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(_USB_FILTER, max_size=3), st.none() | st.lists(_USB_FILTER, max_size=2),
       st.lists(st.tuples(st.sampled_from([0, 1, 0xFFFF]), st.sampled_from([0, 3]),
                          st.sampled_from([(0, 0, 0), (3, 1, 1), (0xFF, 0, 0)]),
                          st.lists(st.sampled_from([(3, 0, 0), (3, 1, 1), (0xFF, 3, 1)]), max_size=3),
                          st.sampled_from([None, "", "A"])), max_size=8))
def test_usb_filters_differential(filters: Any, exclusions: Any, devices: Any) -> None:
    results = []
    for implementation in ("python", "c"):
        core = load_core("devices", implementation)
        records = [_usb(core, v, p, k, tuple(itf), s, i) for i, (v, p, k, itf, s) in enumerate(devices)]

        def run(core: Any = core, records: list[Any] = records) -> Any:
            f = core.UsbFilters(filters, exclusions)
            return f.filters, f.exclusions, [r.device_id for r in f.select(records)]

        results.append(_outcome(run))
    assert results[0] == results[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(_SERIAL_FILTER, max_size=3),
       st.lists(st.tuples(st.sampled_from([-1, 0, 3]), st.sampled_from([-1, 0, 3]),
                          st.sampled_from([None, "00000003-0000-1000-8000-00805f9b34fb"])), max_size=6))
def test_serial_filters_differential(filters: Any, ports: Any) -> None:
    results = []
    for implementation in ("python", "c"):
        core = load_core("devices", implementation)
        records = [_serial(core, v, p, b, i) for i, (v, p, b) in enumerate(ports)]

        def run(core: Any = core, records: list[Any] = records) -> Any:
            f = core.SerialFilters(filters)
            return f.filters, [r.port_id for r in f.select(records)]

        results.append(_outcome(run))
    assert results[0] == results[1]


def test_records_have_the_same_fields(implementation: str) -> None:
    core = load_core("devices", implementation)
    py = load_core("devices", "python")
    for make in (_hid, ):
        assert make(core, 1, 2, ((1, 2),)).to_dict() == make(py, 1, 2, ((1, 2),)).to_dict()
    assert (_usb(core, 1, 2, (0, 0, 0), ((3, 0, 0),), "S").to_dict()
            == _usb(py, 1, 2, (0, 0, 0), ((3, 0, 0),), "S").to_dict())
    assert _serial(core, 1, 2).to_dict() == _serial(py, 1, 2).to_dict()
    assert repr(_serial(core, 1, 2)) == "<SerialRecord /dev/ttyACM0>"


def test_device_ids_are_stable_per_namespace() -> None:
    ns = uuid.UUID(int=7)
    py = load_core("devices", "python")

    class Port:
        device, vid, pid, serial_number, location = "/dev/ttyACM0", 1, 2, "S", "1-1:1.0"
        description, product, manufacturer = "n/a", "P", "M"

    first = py.serial_records([Port()], {}, ns)[0].port_id
    assert py.serial_records([Port()], {}, ns)[0].port_id == first
    assert load_core("devices", "c").serial_records([Port()], {}, ns)[0].port_id == first
    assert py.serial_records([Port()], {}, uuid.UUID(int=8))[0].port_id != first


def test_canonical_uuid(implementation: str) -> None:
    core = load_core("devices", implementation)
    assert core.canonical_uuid(0x1101, "x") == core.SPP_SERVICE_CLASS_ID
    assert core.canonical_uuid(" 00001101-0000-1000-8000-00805F9B34FB ", "x") == core.SPP_SERVICE_CLASS_ID
    with pytest.raises(TypeError, match="x is not a valid UUID"):
        core.canonical_uuid("1101", "x")
    with pytest.raises(TypeError, match="x must be a UUID string or an integer alias, not float"):
        core.canonical_uuid(1.0, "x")


def test_cli_registers_its_subcommand() -> None:
    import argparse

    from websession._cli_devices import register

    parser = argparse.ArgumentParser(prog="websession")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["devices", "--usb", "--json"])
    assert args.usb and args.json and not args.hid and callable(args.func)
    with pytest.raises(SystemExit):
        parser.parse_args(["devices", "--usb", "--hid"])


def test_umockdev_device_text_is_well_formed() -> None:
    from umockdev_devices import CdcAcm, Hid, Usb

    text = Hid(Usb("1", 2, 0x1234, 0x5678, "A", "B", "C"), 0).text()
    assert "H: report_descriptor=" in text and "N: hidraw0" in text
    assert "N: ttyACM3" in CdcAcm(Usb("2", 3, 1, 2), 3).text()
