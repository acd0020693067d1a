"""``websession devices [--hid|--usb|--serial] [--json]``: what the machine has, as choosers see it.

Each device is shown with the filter that selects it in ``ses.hid.request_device``,
``ses.usb.request_device`` or ``ses.serial.request_port``.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from ._devices import DeviceLibraryError, load_library
from ._impl import core

KINDS = ("hid", "usb", "serial")


def _hid(namespace: uuid.UUID) -> list[dict[str, Any]]:
    records = core("devices").hid_records(load_library("hid"), {}, namespace)
    out = []
    for r in records:
        usages = [{"usagePage": p, "usage": u} for p, u in r.usages]
        out.append({
            "path": r.path,
            "name": r.product_name,
            "manufacturer": r.manufacturer,
            "vendorId": r.vendor_id,
            "productId": r.product_id,
            "serialNumber": r.serial_number or None,
            "interface": r.interface_number,
            "usages": usages,
            "filter": {"vendorId": r.vendor_id, "productId": r.product_id,
                       **(usages[0] if usages else {})},
        })
    return out


def _usb(namespace: uuid.UUID) -> list[dict[str, Any]]:
    usb1 = load_library("usb")
    try:
        context = usb1.USBContext()
        context.open()
    except Exception as exc:
        raise DeviceLibraryError(f"libusb-1.0 could not start: {exc}") from exc
    try:
        records = core("devices").usb_records(
            context.getDeviceList(skip_on_error=True), {}, namespace)
        out = []
        for r in records:
            classes = sorted({c for c in r.interface_classes})
            out.append({
                "bus": r.bus,
                "address": r.address,
                "port": r.port_path,
                "name": r.product_name,
                "manufacturer": r.manufacturer,
                "vendorId": r.vendor_id,
                "productId": r.product_id,
                "serialNumber": r.serial_number,
                "deviceClass": r.device_class,
                "interfaceClasses": [list(c) for c in classes],
                "filter": {"vendorId": r.vendor_id, "productId": r.product_id,
                           **({"serialNumber": r.serial_number} if r.serial_number else {})},
            })
        return out
    finally:
        context.close()


def _serial(namespace: uuid.UUID) -> list[dict[str, Any]]:
    records = core("devices").serial_records(load_library("serial").comports(), {}, namespace)
    out = []
    for r in records:
        if r.bluetooth_service_class_id:
            selector: dict[str, Any] = {"bluetoothServiceClassId": r.bluetooth_service_class_id}
        elif r.vendor_id >= 0:
            selector = {"usbVendorId": r.vendor_id, "usbProductId": r.product_id}
        else:
            selector = {}
        out.append({
            "path": r.path,
            "name": r.display_name,
            "manufacturer": r.manufacturer,
            "usbVendorId": None if r.vendor_id < 0 else r.vendor_id,
            "usbProductId": None if r.product_id < 0 else r.product_id,
            "serialNumber": r.serial_number,
            "filter": selector or None,
        })
    return out


def collect(kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    """Enumerate ``kinds``; a missing library becomes ``{"error": message}`` for that kind."""
    namespace = uuid.uuid4()
    listers = {"hid": _hid, "usb": _usb, "serial": _serial}
    result: dict[str, Any] = {}
    for kind in kinds:
        try:
            result[kind] = listers[kind](namespace)
        except DeviceLibraryError as exc:
            result[kind] = {"error": str(exc)}
    return result


def _hex(value: Any) -> str:
    return f"0x{value:04x}" if isinstance(value, int) else "-"


def _text(result: dict[str, Any]) -> str:
    lines: list[str] = []
    for kind, items in result.items():
        lines.append(f"{kind.upper()}:")
        if isinstance(items, dict):
            lines.append(f"  unavailable: {items['error']}")
            continue
        if not items:
            lines.append("  (none)")
        for d in items:
            vendor = d.get("vendorId", d.get("usbVendorId"))
            product = d.get("productId", d.get("usbProductId"))
            where = d.get("path") or f"bus {d['bus']} port {d['port'] or '-'}"
            name = " ".join(x for x in (d.get("manufacturer"), d.get("name")) if x) or "(unnamed)"
            lines.append(f"  {_hex(vendor)}:{_hex(product)}  {name}  [{where}]")
            if d.get("serialNumber"):
                lines.append(f"      serial  {d['serialNumber']}")
            if d.get("usages"):
                lines.append("      usages  " + ", ".join(
                    f"{u['usagePage']:#06x}/{u['usage']:#06x}" for u in d["usages"]))
            if d.get("interfaceClasses"):
                lines.append("      classes " + ", ".join(
                    f"{c:02x}/{s:02x}/{p:02x}" for c, s, p in d["interfaceClasses"]))
            if d.get("filter"):
                lines.append(f"      filter  {json.dumps(d['filter'])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the devices the options ask for; return the exit status."""
    kinds = tuple(k for k in KINDS if getattr(args, k, False)) or KINDS
    result = collect(kinds)
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(_text(result) + "\n")
    failed = [k for k in kinds if isinstance(result[k], dict)]
    return 1 if failed and len(failed) == len(kinds) else 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``devices`` to the ``websession`` command line; the parser's ``func`` runs it."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "devices", help="list HID, USB and serial devices with the filters that select them",
        description=__doc__)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--hid", action="store_true", help="only HID devices (hidapi)")
    only.add_argument("--usb", action="store_true", help="only USB devices (libusb)")
    only.add_argument("--serial", action="store_true", help="only serial ports (pyserial)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``websession devices`` alone (``python -m websession._cli_devices``)."""
    parser = argparse.ArgumentParser(prog="websession")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["devices", *(argv if argv is not None else sys.argv[1:])])
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
