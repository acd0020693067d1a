"""Describe emulated USB, HID and CDC-ACM devices in umockdev's text format.

The blocks follow umockdev-record's output (``P:``/``N:``/``E:``/``A:``/``H:`` lines); libusb reads
the ``descriptors`` attribute, hidapi the ``hid`` block and ``report_descriptor``, pyserial the
``tty`` block and the USB attributes of its parents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROOT = "/devices/pci0000:00/0000:00:14.0"

# A gamepad-like report descriptor: Generic Desktop / Joystick application collection with one
# input report (id 1: 8 buttons, two 8-bit axes) and one output report (id 2: 8 LEDs), then a
# vendor-defined (0xFF00 / 0x01) collection with a 64-byte feature report (id 3).
GAMEPAD_REPORT_DESCRIPTOR = bytes.fromhex(
    "05010904a101"
    "8501"
    "05091901290815002501750195088102"
    "0501093009311581257f750895028102"
    "8502"
    "05081901290815002501750195089102"
    "c0"
    "0600ff0901a101"
    "8503"
    "0902150026ff0075089540b102"  # Usage 2, 0..255, 8-bit x64, Feature (Data,Var,Abs)
    "c0"
)

# Interface classes of the protected classes (WebUSB §"protected interface classes").
PROTECTED = {
    "audio": (0x01, 0x01, 0x00),
    "hid": (0x03, 0x00, 0x00),
    "mass-storage": (0x08, 0x06, 0x50),
    "smart-card": (0x0B, 0x00, 0x00),
    "video": (0x0E, 0x01, 0x00),
    "audio-video": (0x10, 0x01, 0x00),
    "wireless": (0xE0, 0x01, 0x01),
}


@dataclass
class Interface:
    cls: int
    subclass: int = 0
    protocol: int = 0
    endpoints: list[tuple[int, int, int]] = field(default_factory=lambda: [(0x81, 3, 64)])
    extra: bytes = b""
    name: str | None = None


@dataclass
class Usb:
    """One USB device on bus 1, at port path ``port`` (``"3"`` or ``"2.4"``)."""

    port: str
    devnum: int
    vendor_id: int
    product_id: int
    manufacturer: str | None = None
    product: str | None = None
    serial: str | None = None
    device_class: tuple[int, int, int] = (0, 0, 0)
    interfaces: list[Interface] = field(default_factory=list)
    bcd_usb: int = 0x0200
    bcd_device: int = 0x0100
    bus: int = 1

    @property
    def sysname(self) -> str:
        return f"{self.bus}-{self.port}"

    @property
    def syspath(self) -> str:
        return f"{ROOT}/usb{self.bus}/{self.sysname}"

    def descriptors(self) -> bytes:
        c, s, p = self.device_class
        device = bytes(
            [18, 1, self.bcd_usb & 0xFF, self.bcd_usb >> 8, c, s, p, 64,
             self.vendor_id & 0xFF, self.vendor_id >> 8, self.product_id & 0xFF,
             self.product_id >> 8, self.bcd_device & 0xFF, self.bcd_device >> 8,
             1 if self.manufacturer else 0, 2 if self.product else 0, 3 if self.serial else 0, 1]
        )
        body = b""
        for number, itf in enumerate(self.interfaces):
            body += bytes([9, 4, number, 0, len(itf.endpoints), itf.cls, itf.subclass,
                           itf.protocol, 0]) + itf.extra
            for address, attributes, size in itf.endpoints:
                body += bytes([7, 5, address, attributes, size & 0xFF, size >> 8, 1])
        total = 9 + len(body)
        config = bytes([9, 2, total & 0xFF, total >> 8, len(self.interfaces), 1, 0, 0x80, 50])
        return device + config + body

    def blocks(self) -> list[str]:
        out = []
        for number, itf in enumerate(self.interfaces):
            lines = [
                f"P: {self.syspath}/{self.sysname}:1.{number}",
                "E: DEVTYPE=usb_interface",
                "E: SUBSYSTEM=usb",
                f"E: INTERFACE={itf.cls}/{itf.subclass}/{itf.protocol}",
                f"A: bInterfaceNumber={number:02x}",
                f"A: bInterfaceClass={itf.cls:02x}",
                f"A: bInterfaceSubClass={itf.subclass:02x}",
                f"A: bInterfaceProtocol={itf.protocol:02x}",
                "A: bAlternateSetting= 0",
                f"A: bNumEndpoints={len(itf.endpoints):02x}",
            ]
            if itf.name:
                lines.append(f"A: interface={itf.name}")
            out.append("\n".join(lines))
        c, s, p = self.device_class
        lines = [
            f"P: {self.syspath}",
            f"N: bus/usb/{self.bus:03d}/{self.devnum:03d}",
            f"E: DEVNAME=/dev/bus/usb/{self.bus:03d}/{self.devnum:03d}",
            "E: DEVTYPE=usb_device",
            "E: SUBSYSTEM=usb",
            f"E: BUSNUM={self.bus:03d}",
            f"E: DEVNUM={self.devnum:03d}",
            f"E: PRODUCT={self.vendor_id:x}/{self.product_id:x}/{self.bcd_device:x}",
            f"A: busnum={self.bus}",
            f"A: devnum={self.devnum}",
            f"A: devpath={self.port}",
            f"A: idVendor={self.vendor_id:04x}",
            f"A: idProduct={self.product_id:04x}",
            f"A: bcdDevice={self.bcd_device:04x}",
            f"A: bDeviceClass={c:02x}",
            f"A: bDeviceSubClass={s:02x}",
            f"A: bDeviceProtocol={p:02x}",
            "A: bConfigurationValue=1",
            "A: bNumConfigurations=1",
            f"A: bNumInterfaces= {len(self.interfaces)}",
            "A: speed=12",
            f"A: version= {self.bcd_usb >> 8}.{self.bcd_usb & 0xFF:02x}",
        ]
        for attr, value in (("manufacturer", self.manufacturer), ("product", self.product),
                            ("serial", self.serial)):
            if value is not None:
                lines.append(f"A: {attr}={value}")
        lines.append(f"H: descriptors={self.descriptors().hex().upper()}")
        out.append("\n".join(lines))
        return out

    def text(self) -> str:
        return "\n\n".join(self.blocks()) + "\n"


@dataclass
class Hid:
    """A USB HID device: its USB device, the HID interface, the ``hid`` node and ``hidraw<N>``."""

    usb: Usb
    hidraw: int
    report_descriptor: bytes = GAMEPAD_REPORT_DESCRIPTOR
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.usb.interfaces:
            self.usb.interfaces = [Interface(0x03, 0, 0, [(0x81, 3, 64), (0x02, 3, 64)])]

    @property
    def hid_syspath(self) -> str:
        u = self.usb
        return f"{u.syspath}/{u.sysname}:1.0/0003:{u.vendor_id:04X}:{u.product_id:04X}.{self.hidraw + 1:04X}"

    @property
    def hidraw_syspath(self) -> str:
        return f"{self.hid_syspath}/hidraw/hidraw{self.hidraw}"

    def text(self) -> str:
        u = self.usb
        name = self.name or " ".join(x for x in (u.manufacturer, u.product) if x)
        hidraw = "\n".join([
            f"P: {self.hidraw_syspath}",
            f"N: hidraw{self.hidraw}",
            f"E: DEVNAME=/dev/hidraw{self.hidraw}",
            "E: SUBSYSTEM=hidraw",
            f"L: device=../../../{self.hid_syspath.rsplit('/', 1)[1]}",
        ])
        hid = "\n".join([
            f"P: {self.hid_syspath}",
            "E: SUBSYSTEM=hid",
            "E: DRIVER=hid-generic",
            f"E: HID_ID=0003:{u.vendor_id:08X}:{u.product_id:08X}",
            f"E: HID_NAME={name}",
            f"E: HID_PHYS=usb-0000:00:14.0-{u.port}/input0",
            f"E: HID_UNIQ={u.serial or ''}",
            f"H: report_descriptor={self.report_descriptor.hex().upper()}",
        ])
        return "\n\n".join([hidraw, hid, *u.blocks()]) + "\n"


@dataclass
class CdcAcm:
    """A CDC-ACM serial port ``/dev/ttyACM<N>`` on a USB device."""

    usb: Usb
    number: int = 0

    def __post_init__(self) -> None:
        if not self.usb.interfaces:
            self.usb.interfaces = [
                Interface(0x02, 0x02, 0x01, [(0x83, 3, 8)]),
                Interface(0x0A, 0x00, 0x00, [(0x81, 2, 64), (0x02, 2, 64)]),
            ]
            self.usb.device_class = (0x02, 0, 0)

    @property
    def tty_syspath(self) -> str:
        u = self.usb
        return f"{u.syspath}/{u.sysname}:1.0/tty/ttyACM{self.number}"

    def text(self) -> str:
        tty = "\n".join([
            f"P: {self.tty_syspath}",
            f"N: ttyACM{self.number}",
            f"E: DEVNAME=/dev/ttyACM{self.number}",
            "E: SUBSYSTEM=tty",
            "A: dev=166:0",
            f"L: device=../../../{self.usb.sysname}:1.0",
        ])
        return "\n\n".join([tty, *self.usb.blocks()]) + "\n"
