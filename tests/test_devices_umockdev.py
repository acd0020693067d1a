"""Device choosers over the real hidapi, libusb and pyserial, on devices umockdev emulates.

umockdev works by preloading a library into the process, so the tests here run in a child
pytest started under ``umockdev-wrapper``: from a plain ``python -m pytest tests/`` or
``make test`` the one outer test launches the child and reports its result. Inside the child
each test builds its devices in a fresh ``UMockdev.Testbed`` (GObject introspection), from the
recordings in ``corpora/umockdev`` or from blocks described in ``umockdev_devices.py``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import CORPORA

CHILD = os.environ.get("WEBSESSION_UMOCKDEV_CHILD") == "1"
ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = CORPORA / "umockdev"

if not CHILD:

    @pytest.mark.devices
    def test_devices_under_umockdev() -> None:
        """Run this module's device tests inside umockdev-wrapper and require them all to pass."""
        wrapper = shutil.which("umockdev-wrapper")
        if wrapper is None:
            pytest.fail("umockdev is missing: `apt-get install umockdev` (make test installs it)")
        env = dict(os.environ, WEBSESSION_UMOCKDEV_CHILD="1")
        proc = subprocess.run(
            [wrapper, sys.executable, "-m", "pytest", str(Path(__file__)), "-q", "-x",
             "-p", "no:randomly", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )
        report = proc.stdout[-20000:] + proc.stderr[-5000:]
        assert proc.returncode == 0, report
        assert " passed" in proc.stdout, report

else:
    import gi

    gi.require_version("UMockdev", "1.0")
    from gi.repository import UMockdev
    from umockdev_devices import PROTECTED, CdcAcm, Hid, Interface, Usb

    from websession._devices import (
        DEFAULT_PROTECTED_CLASSES,
        PROTECTED_CLASS_MESSAGE,
        DeviceLibraryError,
        HIDDevice,
        SerialPort,
        USBDevice,
        load_library,
    )
    from websession._errors import NotFoundError, SessionError
    from websession._events import Event

    pytestmark = pytest.mark.devices

    @pytest.fixture
    def testbed() -> Iterator[Any]:
        tb = UMockdev.Testbed.new()
        yield tb
        del tb
        gc.collect()

    @pytest.fixture
    def ses(ses: Any) -> Any:
        """conftest's fresh in-memory session (per core implementation), polling devices fast.

        libusb keeps one udev monitor while any context is open; the next testbed needs a fresh
        one, so every test releases its context: conftest's fixture closes the session.
        """
        for chooser in (ses.hid, ses.usb, ses.serial):
            chooser.poll_interval = 0.05
        return ses

    ORIGIN = "https://example.com"

    # ------------------------------------------------------------------ recordings

    def _blocks(path: Path) -> list[dict[str, Any]]:
        blocks = []
        for chunk in path.read_text(errors="replace").split("\n\n"):
            block: dict[str, Any] = {"A": {}, "E": {}, "H": {}}
            for line in chunk.splitlines():
                if len(line) < 3 or line[1:3] != ": ":
                    continue
                kind, rest = line[0], line[3:]
                if kind == "P":
                    block["P"] = rest
                elif kind in "AEH" and "=" in rest:
                    name, value = rest.split("=", 1)
                    block[kind][name] = value.replace("\\n", "\n").strip()
            if "P" in block:
                blocks.append(block)
        return blocks

    USB_RECORDINGS = sorted(
        p for p in RECORDINGS.rglob("*")
        if p.is_file() and (p.suffix == ".umockdev" or p.name in ("device", "device-hidraw"))
        and "DEVTYPE=usb_device" in p.read_text(errors="replace")
    )
    HID_RECORDINGS = sorted(
        p for p in RECORDINGS.rglob("*")
        if p.is_file() and (p.suffix == ".umockdev" or p.name.startswith("device"))
        and "SUBSYSTEM=hidraw" in p.read_text(errors="replace")
    )

    @pytest.mark.parametrize("recording", USB_RECORDINGS, ids=lambda p: str(p.relative_to(RECORDINGS)))
    async def test_usb_enumeration_returns_the_recording(testbed: Any, ses: Any, recording: Path) -> None:
        assert testbed.add_from_file(str(recording))
        records = {(r.bus, r.address): r for r in await ses.usb._records()}
        expected = [b for b in _blocks(recording) if b["E"].get("DEVTYPE") == "usb_device"]
        assert expected
        for block in expected:
            a = block["A"]
            record = records[(int(a["busnum"]), int(a["devnum"]))]
            assert record.vendor_id == int(a["idVendor"], 16)
            assert record.product_id == int(a["idProduct"], 16)
            assert record.device_class == int(a.get("bDeviceClass", "0"), 16)
            assert record.manufacturer == a.get("manufacturer")
            assert record.product_name == a.get("product")
            assert record.serial_number == a.get("serial")
            interfaces = {
                (int(b["A"]["bInterfaceClass"], 16), int(b["A"]["bInterfaceSubClass"], 16),
                 int(b["A"]["bInterfaceProtocol"], 16))
                for b in _blocks(recording)
                if b["E"].get("DEVTYPE") == "usb_interface" and b["P"].rsplit("/", 1)[0] == block["P"]
                and "bInterfaceClass" in b["A"]
            }
            assert interfaces <= set(record.interface_classes)
            # The Electron structure carries the same values.
            device = ses.usb._structure([record])
            assert device.vendor_id == record.vendor_id
            assert device.to_dict()["productId"] == record.product_id

    @pytest.mark.parametrize("recording", HID_RECORDINGS, ids=lambda p: str(p.relative_to(RECORDINGS)))
    async def test_hid_enumeration_returns_the_recording(testbed: Any, ses: Any, recording: Path) -> None:
        assert testbed.add_from_file(str(recording))
        hid = load_library("hid")
        usages_by_path: dict[str, set[tuple[int, int]]] = {}
        for info in hid.enumerate():
            usages_by_path.setdefault(info["path"].decode(), set()).add(
                (info["usage_page"], info["usage"]))
        records = await ses.hid._records()
        assert {r.path for r in records} == set(usages_by_path)
        blocks = {b["P"]: b for b in _blocks(recording)}
        for record in records:
            # hidapi 0.13 scans the report descriptor for the usage of every collection, nested
            # ones too; WebHID (and the core) keep the top-level ones: a subset of hidapi's.
            assert record.usages and set(record.usages) <= usages_by_path[record.path]
            hid_block = next(b for p, b in blocks.items() if "HID_ID" in b["E"]
                             and any(q.startswith(p + "/hidraw/" + record.path.rsplit("/", 1)[1])
                                     for q in blocks))
            _, vendor, product = hid_block["E"]["HID_ID"].split(":")
            assert (record.vendor_id, record.product_id) == (int(vendor, 16), int(product, 16))
            assert record.serial_number == hid_block["E"].get("HID_UNIQ", "")

    async def test_fido2_recording_through_the_chooser(testbed: Any, ses: Any) -> None:
        assert testbed.add_from_file(str(RECORDINGS / "umockdev-project/hidraw/fido2.umockdev"))
        seen: list[Any] = []

        def choose(event: Event, details: Any, callback: Any) -> None:
            event.prevent_default()
            seen.extend(details.device_list)
            callback(details["deviceList"][0].device_id)

        ses.on("select-hid-device", choose)
        devices = await ses.hid.request_device([{"usagePage": 0xF1D0}], origin=ORIGIN)
        assert [d.vendor_id for d in devices] == [0x1050]
        key = devices[0]
        assert key.product_id == 0x0120 and key.name == "Security Key by Yubico"
        assert key.collections[0]["usagePage"] == 0xF1D0 and key.collections[0]["usage"] == 1
        assert key.collections[0]["inputReports"][0]["items"][0]["reportCount"] == 64
        assert seen == devices

    # ------------------------------------------------------------------ described devices

    def _hid_devices() -> list[Hid]:
        return [
            Hid(Usb("1", 2, 0x1234, 0x5678, "Acme", "Pad", "PAD-1"), 0),
            Hid(Usb("2", 3, 0x1234, 0x9999, "Acme", "Keys", "KEYS-1"), 1,
                report_descriptor=bytes.fromhex("05010906a101050719e029e7150025017501950881020501"
                                                "0902a10105091901290381020501093009318106c0c0")),
            Hid(Usb("3", 4, 0x4321, 0x0001, "Other", "Meter", None), 2,
                report_descriptor=bytes.fromhex("0600ff0901a1010901150026ff0075089520b102c0")),
        ]

    def _usb_devices() -> list[Usb]:
        out = []
        for n, (name, triple) in enumerate(sorted(PROTECTED.items())):
            out.append(Usb(f"{n + 11}", n + 40, 0x2000 + n, 0x0100 + n, "Maker", name, f"SN-{name}",
                           interfaces=[Interface(*triple, name=f"{name} interface")]))
        out.append(Usb("19", 50, 0x3000, 0x0001, "Maker", "Vendor thing", "SN-VENDOR",
                       interfaces=[Interface(0xFF, 0x42, 0x01), Interface(0x03, 0, 0)]))
        return out

    GAMEPAD_COLLECTIONS = [
        {"usagePage": 1, "usage": 4, "type": 1, "reports": {
            "inputReports": [(1, [(1, 8, True), (8, 2, False)])],
            "outputReports": [(2, [(1, 8, True)])], "featureReports": []}},
        {"usagePage": 0xFF00, "usage": 1, "type": 1, "reports": {
            "inputReports": [], "outputReports": [], "featureReports": [(3, [(8, 64, False)])]}},
    ]

    async def test_hid_report_descriptor_of_a_described_device(testbed: Any, ses: Any) -> None:
        pad = _hid_devices()[0]
        testbed.add_from_string(pad.text())
        [record] = await ses.hid._records()
        assert record.usages == ((1, 4), (0xFF00, 1))
        for got, want in zip(record.collections, GAMEPAD_COLLECTIONS, strict=True):
            assert (got["usagePage"], got["usage"], got["type"]) == (
                want["usagePage"], want["usage"], want["type"])
            for key, reports in want["reports"].items():
                assert [(r["reportId"], [(i["reportSize"], i["reportCount"], i["isRange"])
                                         for i in r["items"]]) for r in got[key]] == reports
        axes = record.collections[0]["inputReports"][0]["items"][1]
        assert axes["usages"] == [0x00010030, 0x00010031]
        assert (axes["logicalMinimum"], axes["logicalMaximum"]) == (-127, 127)

    async def _choose_list(ses: Any, kind: str, filters: Any, **kw: Any) -> list[Any]:
        """Open the chooser with ``filters`` and return the list its select event carried."""
        got: list[Any] = []
        event_name = {"hid": "select-hid-device", "usb": "select-usb-device",
                      "serial": "select-serial-port"}[kind]

        def listener(event: Event, listed: Any, *rest: Any) -> None:
            event.prevent_default()
            got.extend(listed.device_list if kind != "serial" else listed)
            rest[-1]("" if kind == "serial" else None)

        ses.on(event_name, listener)
        try:
            if kind == "hid":
                assert await ses.hid.request_device(filters, origin=ORIGIN, **kw) == []
            elif kind == "usb":
                with pytest.raises(NotFoundError, match="No device selected."):
                    await ses.usb.request_device(filters, origin=ORIGIN, **kw)
            else:
                with pytest.raises(NotFoundError, match="No device selected."):
                    await ses.serial.request_port(filters, origin=ORIGIN)
        finally:
            ses.off(event_name, listener)
        return got

    async def test_every_hid_filter_kind(testbed: Any, ses: Any) -> None:
        for d in _hid_devices():
            testbed.add_from_string(d.text())

        async def names(filters: Any, **kw: Any) -> list[str]:
            return sorted(d.name for d in await _choose_list(ses, "hid", filters, **kw))

        assert await names([]) == ["Keys", "Meter", "Pad"]
        assert await names([{"vendorId": 0x1234}]) == ["Keys", "Pad"]
        assert await names([{"vendorId": 0x1234, "productId": 0x9999}]) == ["Keys"]
        assert await names([{"usagePage": 0xFF00}]) == ["Meter", "Pad"]
        assert await names([{"usagePage": 1, "usage": 6}]) == ["Keys"]
        assert await names([{"usage_page": 1, "usage": 2}]) == []  # a child collection, not top-level
        assert await names([{"vendorId": 0x4321}, {"usagePage": 1, "usage": 4}]) == ["Meter", "Pad"]
        assert await names([{"vendorId": 0x1234}], exclusion_filters=[{"usagePage": 0xFF00}]) == ["Keys"]
        with pytest.raises(TypeError, match="must also contain a vendorId"):
            await ses.hid.request_device([{"productId": 1}], origin=ORIGIN)
        with pytest.raises(TypeError, match="exclusionFilters"):
            await ses.hid.request_device([], origin=ORIGIN, exclusion_filters=[])

    async def test_every_usb_filter_kind(testbed: Any, ses: Any) -> None:
        for d in _usb_devices():
            testbed.add_from_string(d.text())
        testbed.add_from_string(CdcAcm(Usb("20", 60, 0x2341, 0x0043, "Arduino", "Uno", "ACM-1")).text())

        async def names(filters: Any, **kw: Any) -> list[str]:
            return sorted(d.product_name for d in await _choose_list(ses, "usb", filters, **kw))

        everything = sorted([*PROTECTED, "Vendor thing", "Uno"])
        assert await names([]) == everything
        assert await names([{"vendorId": 0x3000}]) == ["Vendor thing"]
        assert await names([{"vendorId": 0x2000 + 3, "productId": 0x0103}]) == ["mass-storage"]
        assert await names([{"classCode": 0x03}]) == ["Vendor thing", "hid"]
        assert await names([{"classCode": 0xFF, "subclassCode": 0x42}]) == ["Vendor thing"]
        assert await names([{"classCode": 0xFF, "subclassCode": 0x42, "protocolCode": 2}]) == []
        assert await names([{"classCode": 0x02}]) == ["Uno"]  # the device class itself
        assert await names([{"serialNumber": "SN-video"}]) == ["video"]
        assert await names([{"vendorId": 0x2341}, {"classCode": 0x0E}]) == ["Uno", "video"]
        assert await names([], exclusion_filters=[{"classCode": 0x03}, {"vendorId": 0x2341}]) == sorted(
            n for n in everything if n not in ("hid", "Vendor thing", "Uno"))
        with pytest.raises(TypeError, match="subclassCode must also contain a classCode"):
            await ses.usb.request_device([{"subclassCode": 1}], origin=ORIGIN)

    async def test_every_serial_filter_kind(testbed: Any, ses: Any) -> None:
        testbed.add_from_string(CdcAcm(Usb("1", 2, 0x2341, 0x0043, "Arduino", "Uno", "ACM-1"), 0).text())
        testbed.add_from_string(CdcAcm(Usb("2", 3, 0x2341, 0x8036, "Arduino", "Leonardo", "ACM-2"), 1).text())
        testbed.add_from_string(CdcAcm(Usb("3", 4, 0x0483, 0x5740, "ST", "VCP", None), 2).text())

        async def names(filters: Any) -> list[str]:
            return sorted(p.display_name for p in await _choose_list(ses, "serial", filters))

        assert await names([]) == ["Leonardo", "Uno", "VCP"]
        assert await names([{"usbVendorId": 0x2341}]) == ["Leonardo", "Uno"]
        assert await names([{"usbVendorId": 0x2341, "usbProductId": 0x8036}]) == ["Leonardo"]
        assert await names([{"usbVendorId": 0x0483}, {"usbVendorId": 0x2341, "usbProductId": 0x43}]) == [
            "Uno", "VCP"]
        assert await names([{"bluetoothServiceClassId": 0x1101}]) == []
        with pytest.raises(TypeError, match="A filter must provide a property to filter by."):
            await ses.serial.request_port([{}], origin=ORIGIN)
        with pytest.raises(TypeError, match="usbProductId must also specify a usbVendorId"):
            await ses.serial.request_port([{"usbProductId": 1}], origin=ORIGIN)

    # ------------------------------------------------------------------ events, grants, revocation

    async def test_hid_chooser_grant_get_forget(testbed: Any, ses: Any) -> None:
        for d in _hid_devices():
            testbed.add_from_string(d.text())
        calls: list[tuple[Any, ...]] = []

        def choose(*args: Any) -> None:
            calls.append(args)
            event, details, callback = args
            event.prevent_default()
            callback(next(d.device_id for d in details.device_list if d.product_id == 0x5678))

        ses.on("select-hid-device", choose)
        [pad] = await ses.hid.request_device([{"vendorId": 0x1234}], origin=ORIGIN)
        (event, details, _), = calls
        assert isinstance(event, Event) and event.default_prevented
        assert details.frame is None and details.to_dict()["frame"] is None
        assert isinstance(pad, HIDDevice) and pad.serial_number == "PAD-1"
        assert pad.to_dict()["vendorId"] == 0x1234 and pad.deviceId == pad.device_id
        assert await ses.hid.get_devices(origin=ORIGIN) == [pad]
        assert await ses.hid.get_devices(origin="https://other.example") == []
        revoked: list[Any] = []
        ses.on("hid-device-revoked", lambda event, details: revoked.append(details))
        await ses.hid.forget(pad, origin=ORIGIN)
        assert [(d.device, d.origin) for d in revoked] == [(pad, ORIGIN)]
        assert revoked[0].to_dict()["origin"] == ORIGIN
        assert await ses.hid.get_devices(origin=ORIGIN) == []
        # Stable ids: another enumeration gives the same device id.
        ses.off("select-hid-device", choose)
        again = await _choose_list(ses, "hid", [{"vendorId": 0x1234, "productId": 0x5678}])
        assert [d.device_id for d in again] == [pad.device_id]

    async def test_without_a_listener_the_chooser_is_cancelled(testbed: Any, ses: Any) -> None:
        testbed.add_from_string(_hid_devices()[0].text())
        testbed.add_from_string(_usb_devices()[0].text())
        assert await ses.hid.request_device([], origin=ORIGIN) == []
        with pytest.raises(NotFoundError, match="No device selected."):
            await ses.usb.request_device([], origin=ORIGIN)
        # A listener that does not prevent the default cancels too, even if it calls back.
        ses.on("select-usb-device", lambda event, details, callback: callback(
            details.device_list[0].device_id))
        with pytest.raises(NotFoundError):
            await ses.usb.request_device([], origin=ORIGIN)
        assert await ses.usb.get_devices(origin=ORIGIN) == []

    async def test_permission_check_denial_stops_the_chooser(testbed: Any, ses: Any) -> None:
        testbed.add_from_string(_hid_devices()[0].text())
        testbed.add_from_string(_usb_devices()[0].text())
        asked: list[tuple[str, str]] = []

        def check(web_contents: Any, permission: str, origin: str, details: Any) -> bool:
            asked.append((permission, origin))
            return permission == "usb"

        ses.set_permission_check_handler(check)
        emitted: list[str] = []
        ses.on("select-hid-device", lambda *a: emitted.append("hid"))
        ses.on("select-serial-port", lambda *a: emitted.append("serial"))
        assert await ses.hid.request_device([], origin=ORIGIN) == []
        with pytest.raises(NotFoundError):
            await ses.serial.request_port([], origin=ORIGIN)
        assert emitted == []
        assert ("hid", ORIGIN) in asked and ("serial", ORIGIN) in asked

        def choose(event: Event, details: Any, callback: Any) -> None:
            event.prevent_default()
            callback(details.device_list[0].device_id)

        ses.on("select-usb-device", choose)
        device = await ses.usb.request_device([], origin=ORIGIN)
        assert isinstance(device, USBDevice) and ("usb", ORIGIN) in asked

    async def test_device_permission_handler_decides_get_devices(testbed: Any, ses: Any) -> None:
        for d in _hid_devices():
            testbed.add_from_string(d.text())
        testbed.add_from_string(CdcAcm(Usb("9", 20, 0x2341, 0x0043, "Arduino", "Uno", "ACM-1")).text())
        seen: list[Any] = []

        def allow(details: Any) -> bool:
            seen.append(details)
            return details.device_type in ("hid", "serial") and details.device.vendor_id in (
                0x4321, "9025")

        ses.set_device_permission_handler(allow)
        [meter] = await ses.hid.get_devices(origin=ORIGIN)
        assert meter.vendor_id == 0x4321
        [port] = await ses.serial.get_ports(origin=ORIGIN)
        assert isinstance(port, SerialPort) and port.vendor_id == "9025" and port.product_id == "67"
        assert {d.to_dict()["deviceType"] for d in seen} == {"hid", "serial"}
        assert all(d.origin == ORIGIN for d in seen)
        ses.set_device_permission_handler(None)
        assert await ses.hid.get_devices(origin=ORIGIN) == []
        with pytest.raises(TypeError, match="Must pass null or function"):
            ses.set_device_permission_handler(42)

    async def test_serial_chooser_arguments_open_and_revoke(testbed: Any, ses: Any) -> None:
        testbed.add_from_string(CdcAcm(Usb("1", 2, 0x2341, 0x0043, "Arduino", "Uno", "ACM-1"), 0).text())
        calls: list[tuple[Any, ...]] = []

        def choose(*args: Any) -> None:
            calls.append(args)
            event, ports, _web_contents, callback = args
            event.prevent_default()
            callback(ports[0].port_id)

        ses.on("select-serial-port", choose)
        port = await ses.serial.request_port([{"usbVendorId": 0x2341}], origin=ORIGIN)
        assert len(calls) == 1 and calls[0][2] is None
        assert port.to_dict() == {
            "portId": port.port_id, "portName": "ttyACM0", "displayName": "Uno",
            "vendorId": "9025", "productId": "67", "serialNumber": "ACM-1"}
        handle = port.open(baudrate=115200)
        try:
            assert handle.is_open and handle.port == "/dev/ttyACM0" and handle.baudrate == 115200
        finally:
            handle.close()
        revoked: list[Any] = []
        ses.on("serial-port-revoked", lambda event, details: revoked.append(details))
        await ses.serial.forget(port, origin=ORIGIN)
        assert revoked[0].to_dict() == {"port": port.to_dict(), "origin": ORIGIN, "frame": None}
        with pytest.raises(SessionError, match="not granted"):
            port.open()

    @pytest.mark.parametrize("name", sorted(PROTECTED))
    async def test_protected_class_cannot_be_claimed(testbed: Any, ses: Any, name: str) -> None:
        for d in _usb_devices():
            testbed.add_from_string(d.text())
        offered: list[Any] = []

        def choose(event: Event, details: Any, callback: Any) -> None:
            event.prevent_default()
            callback(next(d.device_id for d in details.device_list if d.product_name == name))

        ses.on("select-usb-device", choose)
        device = await ses.usb.request_device([], origin=ORIGIN)
        assert device.configuration["interfaces"][0]["alternate"]["interfaceName"] == f"{name} interface"
        with device.open(origin=ORIGIN) as handle, pytest.raises(
                SessionError, match=PROTECTED_CLASS_MESSAGE):
            handle.claimInterface(0)
        ses.set_usb_protected_classes_handler(
            lambda details: offered.append(details) or [c for c in details.protected_classes if c != name])
        with device.open() as handle:
            handle.claimInterface(0)
            handle.releaseInterface(0)
        assert offered[0].to_dict() == {"protectedClasses": list(DEFAULT_PROTECTED_CLASSES)}

    async def test_unprotected_interface_is_claimed_on_the_real_handle(testbed: Any, ses: Any) -> None:
        for d in _usb_devices():
            testbed.add_from_string(d.text())
        ses.on("select-usb-device", lambda event, details, callback: (
            event.prevent_default(), callback(details.device_list[0].device_id)))
        device = await ses.usb.request_device([{"vendorId": 0x3000}], origin=ORIGIN)
        with device.open(origin=ORIGIN) as handle:
            handle.claimInterface(0)  # vendor-specific: allowed
            with pytest.raises(SessionError, match=PROTECTED_CLASS_MESSAGE):
                handle.claimInterface(1)  # its HID interface is protected
            assert handle.getDevice().getVendorID() == 0x3000
        with pytest.raises(SessionError, match="not granted"):
            device.open(origin="https://other.example")

    async def test_hid_open_returns_a_hid_device(testbed: Any, ses: Any, tmp_path: Path) -> None:
        pad = _hid_devices()[0]
        testbed.add_from_string(pad.text())
        size = len(pad.report_descriptor)
        ioctl = tmp_path / "hidraw0.ioctl"
        desc = size.to_bytes(4, "little") + pad.report_descriptor + bytes(4096 - size)
        ioctl.write_text(
            "@DEV /dev/hidraw0\n"
            f"HIDIOCGRDESCSIZE 0 {size.to_bytes(4, 'little').hex().upper()}\n"
            f"HIDIOCGRDESC 0 {desc.hex().upper()}\n")
        testbed.load_ioctl("/dev/hidraw0", str(ioctl))
        ses.on("select-hid-device", lambda event, details, callback: (
            event.prevent_default(), callback(details.device_list[0].device_id)))
        [device] = await ses.hid.request_device([], origin=ORIGIN)
        handle = device.open()
        try:
            assert type(handle).__name__ == "Device"
        finally:
            handle.close()

    # ------------------------------------------------------------------ hotplug

    async def _wait(events: list[Any], count: int) -> None:
        for _ in range(200):
            if len(events) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} events, got {events}")

    async def test_hid_hotplug_while_the_chooser_is_open(testbed: Any, ses: Any) -> None:
        first, second, _ = _hid_devices()
        testbed.add_from_string(first.text())
        opened = asyncio.Event()
        pending: list[Any] = []
        events: list[tuple[str, Any]] = []

        def choose(event: Event, details: Any, callback: Any) -> None:
            event.prevent_default()
            pending.append(callback)
            opened.set()

        ses.on("select-hid-device", choose)
        ses.on("hid-device-added", lambda event, details: events.append(("added", details)))
        ses.on("hid-device-removed", lambda event, details: events.append(("removed", details)))
        task = asyncio.ensure_future(ses.hid.request_device([{"vendorId": 0x1234}], origin=ORIGIN))
        await opened.wait()
        testbed.add_from_string(second.text())
        await _wait(events, 1)
        testbed.add_from_string(_hid_devices()[2].text())  # filtered out: no event
        testbed.remove_device("/sys" + first.usb.syspath)
        await _wait(events, 2)
        assert [(k, d.device.product_id) for k, d in events] == [("added", 0x9999), ("removed", 0x5678)]
        assert events[0][1].frame is None
        pending[0](events[0][1].device.device_id)
        [chosen] = await task
        assert chosen.product_id == 0x9999

    async def test_usb_and_serial_hotplug_while_the_chooser_is_open(testbed: Any, ses: Any) -> None:
        uno = CdcAcm(Usb("1", 2, 0x2341, 0x0043, "Arduino", "Uno", "ACM-1"), 0)
        testbed.add_from_string(uno.text())
        events: list[tuple[str, Any, Any]] = []
        for name in ("usb-device-added", "usb-device-removed", "serial-port-added", "serial-port-removed"):
            ses.on(name, lambda event, device, web_contents, name=name: events.append((name, device, web_contents)))
        callbacks: list[Any] = []

        def keep(event: Event, listed: Any, *rest: Any) -> None:
            event.prevent_default()
            callbacks.append(rest[-1])

        ses.on("select-usb-device", keep)
        ses.on("select-serial-port", keep)
        usb_task = asyncio.ensure_future(ses.usb.request_device([], origin=ORIGIN))
        serial_task = asyncio.ensure_future(ses.serial.request_port([], origin=ORIGIN))
        await _wait(callbacks, 2)
        leo = CdcAcm(Usb("2", 3, 0x2341, 0x8036, "Arduino", "Leonardo", "ACM-2"), 1)
        testbed.add_from_string(leo.text())
        await _wait(events, 2)
        # As the kernel does: the tty child goes with its node, then the USB device, announced
        # by a "remove" uevent (libusb's open context learns of removals from udev).
        testbed.remove_device("/sys" + uno.tty_syspath)
        testbed.uevent("/sys" + uno.usb.syspath, "remove")
        testbed.remove_device("/sys" + uno.usb.syspath)
        await _wait(events, 4)
        kinds = sorted((name, getattr(d, "product_name", None) or d.display_name) for name, d, _ in events)
        assert kinds == [("serial-port-added", "Leonardo"), ("serial-port-removed", "Uno"),
                         ("usb-device-added", "Leonardo"), ("usb-device-removed", "Uno")]
        assert all(wc is None for _, _, wc in events)
        for callback in callbacks:
            callback("")
        with pytest.raises(NotFoundError):
            await usb_task
        with pytest.raises(NotFoundError):
            await serial_task

    async def test_usb_hotplug_comes_from_libusb_not_polling(testbed: Any, ses: Any) -> None:
        testbed.add_from_string(_usb_devices()[0].text())
        ses.usb.poll_interval = 3600.0  # only libusb's hotplug callback can wake the watcher
        added: list[Any] = []
        ses.on("usb-device-added", lambda event, device, web_contents: added.append(device))
        callbacks: list[Any] = []

        def keep(event: Event, details: Any, callback: Any) -> None:
            event.prevent_default()
            callbacks.append(callback)

        ses.on("select-usb-device", keep)
        task = asyncio.ensure_future(ses.usb.request_device([], origin=ORIGIN))
        await _wait(callbacks, 1)
        await asyncio.sleep(0.2)  # the hotplug thread is registered
        testbed.add_from_string(_usb_devices()[1].text())
        await _wait(added, 1)
        assert added[0].product_name == sorted(PROTECTED)[1]
        callbacks[0](added[0].device_id)
        assert (await task).device_id == added[0].device_id

    # ------------------------------------------------------------------ command line, libraries

    def test_cli_lists_devices_with_their_filters(testbed: Any, capsys: pytest.CaptureFixture[str]) -> None:
        from websession._cli_devices import main

        testbed.add_from_string(_hid_devices()[0].text())
        testbed.add_from_string(CdcAcm(Usb("4", 5, 0x2341, 0x0043, "Arduino", "Uno", "ACM-1")).text())
        assert main(["--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [d["filter"] for d in listed["hid"]] == [
            {"vendorId": 0x1234, "productId": 0x5678, "usagePage": 1, "usage": 4}]
        assert {d["vendorId"] for d in listed["usb"]} == {0x1234, 0x2341}
        assert listed["serial"][0]["filter"] == {"usbVendorId": 0x2341, "usbProductId": 0x43}
        assert main(["--serial"]) == 0
        text = capsys.readouterr().out
        assert "SERIAL:" in text and "HID:" not in text and "/dev/ttyACM0" in text

    def test_a_missing_library_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "hid", None)
        with pytest.raises(DeviceLibraryError, match="hidapi.*apt-get install libhidapi-hidraw0"):
            load_library("hid")
        monkeypatch.setitem(sys.modules, "usb1", None)
        with pytest.raises(DeviceLibraryError, match="libusb-1.0.*pip install libusb1"):
            load_library("usb")

    async def test_a_missing_library_fails_the_chooser(ses: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "serial.tools.list_ports", None)
        with pytest.raises(DeviceLibraryError, match="pyserial"):
            await ses.serial.request_port([], origin=ORIGIN)
