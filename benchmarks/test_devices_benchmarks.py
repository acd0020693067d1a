"""Device core benchmarks: enumerate and filter 200 emulated HID/USB devices.

Compared side by side, one group per scenario: the compiled core, its Python twin, and the
``hid`` / ``libusb1`` packages used directly with a Python filter loop; the libraries' bare
enumeration is the baseline the core's overhead is measured against.

umockdev emulates the devices by preloading into the process, so from a plain
``python -m pytest benchmarks/test_devices_benchmarks.py --benchmark-only`` (or ``make bench``)
the outer benchmark re-runs this module under ``umockdev-wrapper`` and prints the child's table.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHILD = os.environ.get("WEBSESSION_UMOCKDEV_CHILD") == "1"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

if not CHILD:

    def test_devices_benchmarks_under_umockdev(benchmark: Any) -> None:
        """Run the device benchmarks inside umockdev-wrapper and show their table."""
        wrapper = shutil.which("umockdev-wrapper")
        if wrapper is None:
            pytest.skip("umockdev is missing: `apt-get install umockdev`")
        env = dict(os.environ, WEBSESSION_UMOCKDEV_CHILD="1")

        def child() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [wrapper, sys.executable, "-m", "pytest", str(Path(__file__)), "-q", "-p",
                 "no:randomly", "--benchmark-only",
                 "--benchmark-columns=median,mean,min,rounds", "--benchmark-sort=name"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
            )

        benchmark.group = "devices: the umockdev child run (whole)"
        proc = benchmark.pedantic(child, rounds=1, iterations=1)
        sys.stdout.write("\n" + proc.stdout + proc.stderr[-3000:])
        assert proc.returncode == 0, proc.stdout + proc.stderr

else:
    import gi

    gi.require_version("UMockdev", "1.0")
    import hid
    import usb1
    from gi.repository import UMockdev
    from umockdev_devices import Hid, Usb

    from websession import _devices_c as core_c
    from websession import _devices_py as core_py

    N = 200
    VENDOR_HID = bytes.fromhex("0600ff0901a1010901150026ff0075089540b102c0")

    def _device(i: int) -> Hid:
        bus, port = 1 + i // 100, i % 100 + 1
        vendor = (0x1000, 0x2000, 0x3000, 0x4000)[i % 4]
        usb = Usb(str(port), port + 1, vendor, 0x0100 + i % 10, "Maker", f"Device {i}",
                  f"SN{i:04d}", bus=bus)
        return Hid(usb, i, report_descriptor=VENDOR_HID if i % 3 == 0 else Hid.__dataclass_fields__[
            "report_descriptor"].default)

    HID_FILTERS = [{"vendorId": 0x1000, "productId": 0x0101}, {"usagePage": 0xFF00, "usage": 1},
                   {"vendorId": 0x3000}]
    HID_EXCLUSIONS = [{"vendorId": 0x3000, "productId": 0x0102}]
    USB_FILTERS = [{"vendorId": 0x1000, "productId": 0x0101}, {"classCode": 0xFF},
                   {"vendorId": 0x2000, "serialNumber": "SN0005"}, {"classCode": 3, "subclassCode": 0}]
    USB_EXCLUSIONS = [{"vendorId": 0x4000}]

    @pytest.fixture(scope="module")
    def testbed() -> Iterator[Any]:
        tb = UMockdev.Testbed.new()
        for i in range(N):
            tb.add_from_string(_device(i).text())
        yield tb
        del tb
        gc.collect()

    @pytest.fixture(scope="module")
    def context(testbed: Any) -> Iterator[Any]:
        ctx = usb1.USBContext()
        ctx.open()
        assert len(ctx.getDeviceList(skip_on_error=True)) == N
        yield ctx
        ctx.close()

    # -- the Python loops a program would write over the packages' own results

    def _hid_match(f: dict[str, int], e: dict[str, Any]) -> bool:
        v = f.get("vendorId")
        if v is not None and (e["vendor_id"] != v or (
                f.get("productId") is not None and e["product_id"] != f["productId"])):
            return False
        page = f.get("usagePage")
        if page is not None:
            return bool(e["usage_page"] == page and (f.get("usage") is None or e["usage"] == f["usage"]))
        return True

    def python_hid_filter(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in entries if any(_hid_match(f, e) for f in HID_FILTERS)
                and not any(_hid_match(f, e) for f in HID_EXCLUSIONS)]

    def _usb_fields(d: Any) -> dict[str, Any]:
        classes = [(d.getDeviceClass(), d.getDeviceSubClass(), d.getDeviceProtocol())]
        classes += [(s.getClass(), s.getSubClass(), s.getProtocol()) for cfg in d for i in cfg for s in i]
        return {"vendor": d.getVendorID(), "product": d.getProductID(), "classes": classes,
                "serial": None}

    def _usb_match(f: dict[str, Any], e: dict[str, Any]) -> bool:
        v = f.get("vendorId")
        if v is not None and (e["vendor"] != v or (
                f.get("productId") is not None and e["product"] != f["productId"])):
            return False
        if f.get("serialNumber") is not None and e["serial"] != f["serialNumber"]:
            return False
        c = f.get("classCode")
        if c is not None:
            s, p = f.get("subclassCode"), f.get("protocolCode")
            return any(cc == c and (s is None or (ss == s and (p is None or pp == p)))
                       for cc, ss, pp in e["classes"])
        return True

    def python_usb_filter(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in entries if any(_usb_match(f, e) for f in USB_FILTERS)
                and not any(_usb_match(f, e) for f in USB_EXCLUSIONS)]

    # -- HID: enumerate and filter

    def test_hid_enumerate_hid_package_alone(benchmark: Any, testbed: Any) -> None:
        benchmark.group = "devices: HID enumerate (+filter) 200"
        assert len({e["path"] for e in benchmark(hid.enumerate)}) == N

    def test_hid_enumerate_filter_hid_package_python_loop(benchmark: Any, testbed: Any) -> None:
        benchmark.group = "devices: HID enumerate (+filter) 200"
        assert benchmark(lambda: python_hid_filter(hid.enumerate()))

    @pytest.mark.parametrize("core", [core_c, core_py], ids=["c", "python"])
    def test_hid_enumerate_filter_core(benchmark: Any, testbed: Any, core: Any) -> None:
        benchmark.group = "devices: HID enumerate (+filter) 200"
        cache: dict[Any, Any] = {}
        ns = uuid.uuid4()
        filters = core.HidFilters(HID_FILTERS, HID_EXCLUSIONS)
        assert len(core.hid_records(hid, cache, ns)) == N  # warm: the chooser's re-enumerations

        def run() -> list[Any]:
            return filters.select(core.hid_records(hid, cache, ns))

        assert benchmark(run)

    @pytest.mark.parametrize("core", [core_c, core_py], ids=["c", "python"])
    def test_hid_enumerate_cold_core(benchmark: Any, testbed: Any, core: Any) -> None:
        benchmark.group = "devices: HID first enumeration (reads+parses 200 report descriptors)"
        ns = uuid.uuid4()
        assert len(benchmark(lambda: core.hid_records(hid, {}, ns))) == N

    # -- USB: enumerate and filter

    def test_usb_enumerate_libusb1_alone(benchmark: Any, context: Any) -> None:
        benchmark.group = "devices: USB enumerate (+filter) 200"
        assert len(benchmark(lambda: context.getDeviceList(skip_on_error=True))) == N

    def test_usb_enumerate_filter_libusb1_python_loop(benchmark: Any, context: Any) -> None:
        benchmark.group = "devices: USB enumerate (+filter) 200"
        assert benchmark(lambda: python_usb_filter(
            [_usb_fields(d) for d in context.getDeviceList(skip_on_error=True)]))

    @pytest.mark.parametrize("core", [core_c, core_py], ids=["c", "python"])
    def test_usb_enumerate_filter_core(benchmark: Any, context: Any, core: Any) -> None:
        benchmark.group = "devices: USB enumerate (+filter) 200"
        cache: dict[Any, Any] = {}
        ns = uuid.uuid4()
        filters = core.UsbFilters(USB_FILTERS, USB_EXCLUSIONS)
        core.usb_records(context.getDeviceList(skip_on_error=True), cache, ns)

        def run() -> list[Any]:
            return filters.select(core.usb_records(context.getDeviceList(skip_on_error=True), cache, ns))

        assert benchmark(run)

    # -- filtering alone, on what enumeration returned

    def test_hid_filter_python_loop(benchmark: Any, testbed: Any) -> None:
        benchmark.group = "devices: HID filter only, 200"
        entries = hid.enumerate()
        assert benchmark(python_hid_filter, entries)

    @pytest.mark.parametrize("core", [core_c, core_py], ids=["c", "python"])
    def test_hid_filter_core(benchmark: Any, testbed: Any, core: Any) -> None:
        benchmark.group = "devices: HID filter only, 200"
        records = core.hid_records(hid, {}, uuid.uuid4())
        filters = core.HidFilters(HID_FILTERS, HID_EXCLUSIONS)
        assert benchmark(filters.select, records)

    def test_usb_filter_python_loop(benchmark: Any, context: Any) -> None:
        benchmark.group = "devices: USB filter only, 200"
        entries = [_usb_fields(d) for d in context.getDeviceList(skip_on_error=True)]
        assert benchmark(python_usb_filter, entries)

    @pytest.mark.parametrize("core", [core_c, core_py], ids=["c", "python"])
    def test_usb_filter_core(benchmark: Any, context: Any, core: Any) -> None:
        benchmark.group = "devices: USB filter only, 200"
        records = core.usb_records(context.getDeviceList(skip_on_error=True), {}, uuid.uuid4())
        filters = core.UsbFilters(USB_FILTERS, USB_EXCLUSIONS)
        assert benchmark(filters.select, records)
