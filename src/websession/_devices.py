"""WebHID, WebUSB and Web Serial choosers over hidapi, libusb and pyserial.

``ses.hid``, ``ses.usb`` and ``ses.serial`` start what ``navigator.hid.requestDevice``,
``navigator.usb.requestDevice`` and ``navigator.serial.requestPort`` start in Electron: the
session's ``select-*`` event chooses, the permission check handler can stop the chooser first,
granted devices are remembered per origin in memory, and ``set_device_permission_handler``
answers ``get_devices``/``get_ports`` when set (Electron's ``ElectronPermissionManager``).
Enumeration runs in a worker thread; the device core (``_devices_c``/``_devices_py``) builds the
records and applies the filters.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import threading
import uuid
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ._errors import NotFoundError, SessionError
from ._events import Event
from ._handlers import Callback, check_handler
from ._impl import core
from ._naming import CamelAliases
from ._structures import Structure, field

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")

    # The checker reads ``@structure`` as the frozen dataclass it builds.
    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def structure(cls: type[_T]) -> type[_T]: ...
else:
    from ._structures import structure

log = logging.getLogger("websession")

NO_DEVICE_SELECTED = "No device selected."
PROTECTED_CLASS_MESSAGE = "The requested interface implements a protected class."
# WebUSB §4.2 "protected interface classes" (Chromium usb_device.cc kProtectedClasses).
USB_PROTECTED_CLASSES: dict[str, int] = {
    "audio": 0x01,
    "audio-video": 0x10,
    "hid": 0x03,
    "mass-storage": 0x08,
    "smart-card": 0x0B,
    "video": 0x0E,
    "wireless": 0xE0,
}
DEFAULT_PROTECTED_CLASSES: tuple[str, ...] = tuple(USB_PROTECTED_CLASSES)

# hidapi and libusb calls are serialised on one worker thread: neither library promises that
# concurrent enumeration from several threads is safe.
_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="websession-devices")


class DeviceLibraryError(SessionError, ImportError):
    """A device library is missing on this machine; the message says how to install it."""


_INSTALL = {
    "hid": (
        "WebHID needs hidapi through the 'hid' package: install the system library "
        "(Debian/Ubuntu: `apt-get install libhidapi-hidraw0`; Fedora: `dnf install hidapi`; "
        "macOS: `brew install hidapi`) and `pip install hid`"
    ),
    "usb": (
        "WebUSB needs libusb-1.0 through the 'libusb1' package: install the system library "
        "(Debian/Ubuntu: `apt-get install libusb-1.0-0`; Fedora: `dnf install libusb1`; "
        "macOS: `brew install libusb`) and `pip install libusb1`"
    ),
    "serial": "Web Serial needs pyserial: `pip install pyserial`",
}


def load_library(kind: str) -> Any:
    """Import the library behind ``kind`` (``hid``, ``usb``, ``serial``) or raise a clear error."""
    try:
        if kind == "hid":
            import hid

            return hid
        if kind == "usb":
            import usb1

            return usb1
        import serial.tools.list_ports

        return serial.tools.list_ports
    except (ImportError, OSError, AttributeError) as exc:
        raise DeviceLibraryError(f"{_INSTALL[kind]} ({exc})") from exc


# --------------------------------------------------------------------------- structures

@structure
class HIDDevice(Structure):
    """A HID device as Electron describes it (``structures/hid-device.md``)."""

    device_id: str
    name: str
    vendor_id: int
    product_id: int
    collections: list[dict[str, Any]]
    serial_number: str | None = field()
    guid: str | None = field()

    def open(self, origin: str | None = None) -> Any:
        """Open the device for ``origin`` (any origin it is granted to): a ``hid.Device``."""
        return _owner(self.device_id).open(self, origin=origin)


@structure
class USBDevice(Structure):
    """A USB device as Electron describes it (``structures/usb-device.md``)."""

    device_id: str
    vendor_id: int
    product_id: int
    device_class: int
    device_subclass: int
    device_protocol: int
    usb_version_major: int
    usb_version_minor: int
    usb_version_subminor: int
    device_version_major: int
    device_version_minor: int
    device_version_subminor: int
    configurations: list[dict[str, Any]]
    configuration: dict[str, Any] | None = field()
    manufacturer_name: str | None = field()
    product_name: str | None = field()
    serial_number: str | None = field()

    def open(self, origin: str | None = None) -> USBHandle:
        """Open the device for ``origin``: a ``usb1`` handle that refuses protected interfaces."""
        handle: USBHandle = _owner(self.device_id).open(self, origin=origin)
        return handle


@structure
class SerialPort(Structure):
    """A serial port as Electron describes it (``structures/serial-port.md``): string ids."""

    port_id: str
    port_name: str
    display_name: str | None = field()
    vendor_id: str | None = field()
    product_id: str | None = field()
    serial_number: str | None = field()
    usb_driver_name: str | None = field()
    device_instance_id: str | None = field()

    def open(self, origin: str | None = None, **settings: Any) -> Any:
        """Open the port for ``origin``: a ``serial.Serial`` (``settings`` are its keywords)."""
        return _owner(self.port_id).open(self, origin=origin, **settings)


@structure
class SelectDeviceDetails(Structure):
    """``details`` of ``select-hid-device`` and ``select-usb-device``."""

    device_list: list[Any]
    frame: Any = field(keep_none=True)


@structure
class DeviceEventDetails(Structure):
    """``details`` of ``hid-device-added``/``-removed``: the device and the frame."""

    device: Any
    frame: Any = field(keep_none=True)


@structure
class DeviceRevokedDetails(Structure):
    """``details`` of ``hid-device-revoked`` and ``usb-device-revoked``."""

    device: Any
    origin: str | None = field()


@structure
class SerialPortRevokedDetails(Structure):
    """``details`` of ``serial-port-revoked``."""

    port: Any
    origin: str
    frame: Any = field(keep_none=True)


@structure
class DevicePermissionDetails(Structure):
    """``details`` given to the device permission handler."""

    device_type: str
    origin: str
    device: Any


@structure
class ProtectedClassesDetails(Structure):
    """``details`` given to the USB protected classes handler."""

    protected_classes: list[str]


_owners: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def _owner(device_id: str) -> Any:
    owner = _owners.get(device_id)
    if owner is None:
        raise SessionError("The device is not known to any open session")
    return owner


def _origin(origin: Any, where: str) -> str:
    from ._permissions import serialize_origin

    return serialize_origin(origin, where)


# --------------------------------------------------------------------------- the choosers

class _Chooser(CamelAliases, ABC):
    """What the three choosers share: enumeration off the loop, grants, hotplug, handlers."""

    kind: ClassVar[str]
    poll_interval: float = 0.25
    """Seconds between re-enumerations while a chooser is open (hotplug by polling)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._core = core("devices")
        self._namespace = uuid.uuid4()
        self._cache: dict[Any, Any] = {}
        self._grants: dict[str, dict[str, Structure]] = {}
        self._last: dict[str, Any] = {}

    # -- given by each chooser
    @abstractmethod
    def _scan(self) -> list[Any]:
        """Enumerate the library's devices into core records (runs on the worker thread)."""

    @abstractmethod
    def _structure(self, records: Sequence[Any]) -> Structure:
        """Build the Electron structure of one device from its records."""

    @abstractmethod
    def _key(self, record: Any) -> str:
        """Return the device id a record belongs to."""

    @abstractmethod
    def _emit_revoked(self, device: Structure, origin: str) -> None:
        """Emit the session's revocation event."""

    # -- enumeration
    async def _records(self) -> list[Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_EXECUTOR, self._scan)

    def _group(self, records: Iterable[Any]) -> dict[str, Structure]:
        groups: dict[str, list[Any]] = {}
        for r in records:
            groups.setdefault(self._key(r), []).append(r)
        out: dict[str, Structure] = {}
        for key, members in groups.items():
            out[key] = self._structure(members)
            self._last[key] = members
            _owners[key] = self
        return out

    async def _devices(self, filters: Any = None) -> dict[str, Structure]:
        records = await self._records()
        if filters is not None:
            records = filters.select(records)
        return self._group(records)

    # -- permissions
    def _check_permission(self, origin: str) -> bool:
        permissions = getattr(self._session, "permissions", None)
        if permissions is None:
            return True
        return bool(permissions.check(self.kind, origin=origin))

    async def _has_permission(self, origin: str, device: Structure) -> bool:
        handler = getattr(self._session, "_device_permission_handler", None)
        if handler is None:
            return self._device_id(device) in self._grants.get(origin, {})
        details = DevicePermissionDetails(self.kind, origin, device)
        try:
            answer = handler(details)
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception:
            log.exception("device permission handler raised; denying %s", self.kind)
            return False
        return answer is True

    def _device_id(self, device: Structure) -> str:
        return str(device["deviceId"])

    def _granted_anywhere(self, device_id: str) -> bool:
        return any(device_id in grants for grants in self._grants.values())

    async def _granted(self, origin: Any, where: str) -> list[Structure]:
        origin = _origin(origin, where)
        devices = await self._devices()
        return [d for d in devices.values() if await self._has_permission(origin, d)]

    async def _forget(self, device: Any, origin: Any, where: str) -> None:
        origin = _origin(origin, where)
        if not isinstance(device, Structure):
            raise TypeError(f"{where}: device must be a device returned by this session")
        device_id = self._device_id(device)
        grants = self._grants.get(origin)
        if grants is not None:
            grants.pop(device_id, None)
            if not grants:
                del self._grants[origin]
        self._emit_revoked(device, origin)

    def _check_open(self, device: Structure, origin: str | None) -> list[Any]:
        device_id = self._device_id(device)
        if origin is None:
            granted = self._granted_anywhere(device_id)
        else:
            granted = device_id in self._grants.get(_origin(origin, "open"), {})
        if not granted:
            raise SessionError(f"Access to the {self.kind} device {device_id} was not granted")
        members = self._last.get(device_id)
        if not members:
            raise NotFoundError("The device was disconnected.")
        return list(members)

    # -- the chooser itself
    async def _choose(self, origin: str, filters: Any, emit: Callable[[Event, list[Structure], Callback], None],
                      added: Callable[[Structure], None],
                      removed: Callable[[Structure], None]) -> Structure | None:
        devices = await self._devices(filters)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        callback = Callback(future)
        event = Event(self._session)
        emit(event, list(devices.values()), callback)
        if not event.default_prevented:
            return None  # Electron cancels a chooser nobody took (electron_hid_delegate.cc)
        wake = asyncio.Event()
        watcher = asyncio.ensure_future(self._watch(filters, devices, added, removed, wake))
        hotplug = self._start_hotplug(loop, wake)
        try:
            answer = await future
        finally:
            watcher.cancel()
            if hotplug is not None:
                await loop.run_in_executor(None, hotplug)
            await asyncio.gather(watcher, return_exceptions=True)
        # No argument, None or "" cancels (session.md 'select-*' events).
        if not isinstance(answer, str) or not answer:
            return None
        current = self._last.get(answer)
        if current is None:
            return None
        chosen = self._structure(current)
        self._grants.setdefault(origin, {})[answer] = chosen
        return chosen

    def _start_hotplug(self, loop: asyncio.AbstractEventLoop,
                       wake: asyncio.Event) -> Callable[[], None] | None:
        """Start the library's hotplug notifications, which set ``wake``; return their stopper
        (blocking until they are stopped), or ``None`` to rely on polling alone."""
        return None

    async def _watch(self, filters: Any, devices: dict[str, Structure],
                     added: Callable[[Structure], None], removed: Callable[[Structure], None],
                     wake: asyncio.Event) -> None:
        known = dict(devices)
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), self.poll_interval)
            wake.clear()
            try:
                now = await self._devices(filters)
            except Exception:
                log.exception("re-enumerating %s devices failed", self.kind)
                continue
            for key, device in now.items():
                if key not in known:
                    added(device)
            for key, device in known.items():
                if key not in now:
                    removed(device)
            known = now


class HID(_Chooser):
    """``ses.hid``: WebHID's ``requestDevice``, ``getDevices`` and ``forget``, decided by the session."""

    kind = "hid"

    def _scan(self) -> list[Any]:
        lib = load_library("hid")
        return list(self._core.hid_records(lib, self._cache, self._namespace))

    def _key(self, record: Any) -> str:
        return str(record.physical_id)

    def _structure(self, records: Sequence[Any]) -> Structure:
        first = records[0]
        collections: list[dict[str, Any]] = []
        for r in records:
            collections.extend(r.collections)
        return HIDDevice(
            device_id=first.physical_id, name=first.product_name, vendor_id=first.vendor_id,
            product_id=first.product_id, collections=collections,
            serial_number=first.serial_number, guid=first.guid,
        )

    async def request_device(self, filters: Any = None, *, origin: str,
                             exclusion_filters: Any = None) -> list[HIDDevice]:
        """Run the chooser: ``'select-hid-device'`` picks; ``[]`` when cancelled or denied."""
        compiled = self._core.HidFilters(filters, exclusion_filters)
        origin = _origin(origin, "hid.request_device")
        if not self._check_permission(origin):
            return []
        ses = self._session
        chosen = await self._choose(
            origin, compiled,
            lambda ev, devices, cb: ses.emit("select-hid-device", ev, SelectDeviceDetails(devices, None), cb),
            lambda d: ses.emit("hid-device-added", Event(ses), DeviceEventDetails(d, None)),
            lambda d: ses.emit("hid-device-removed", Event(ses), DeviceEventDetails(d, None)),
        )
        return [chosen] if isinstance(chosen, HIDDevice) else []

    async def get_devices(self, *, origin: str) -> list[HIDDevice]:
        """Return the connected devices ``origin`` may use (``navigator.hid.getDevices``)."""
        return [d for d in await self._granted(origin, "hid.get_devices") if isinstance(d, HIDDevice)]

    async def forget(self, device: HIDDevice, *, origin: str) -> None:
        """Revoke ``origin``'s access to ``device`` and emit ``'hid-device-revoked'``."""
        await self._forget(device, origin, "hid.forget")

    def _emit_revoked(self, device: Structure, origin: str) -> None:
        self._session.emit("hid-device-revoked", Event(self._session), DeviceRevokedDetails(device, origin))

    def open(self, device: HIDDevice, *, origin: str | None = None) -> Any:
        """Open a granted device's first HID interface: a ``hid.Device``."""
        members = self._check_open(device, origin)
        lib = load_library("hid")
        return lib.Device(path=members[0].path.encode("utf-8", "surrogateescape"))


def _bcd(value: int) -> tuple[int, int, int]:
    return value >> 8, (value >> 4) & 0xF, value & 0xF


class USBHandle:
    """A ``usb1.USBDeviceHandle`` that refuses to claim interfaces of protected classes.

    Every other attribute is the real handle's (``bulkRead``, ``controlWrite``, ...).
    """

    def __init__(self, handle: Any, protected: dict[int, bool]) -> None:
        self._handle = handle
        self._protected = protected

    @property
    def handle(self) -> Any:
        """The ``usb1.USBDeviceHandle`` itself."""
        return self._handle

    def claimInterface(self, interface: int) -> Any:
        """Claim ``interface`` unless one of its alternates has a protected class."""
        if self._protected.get(int(interface)):
            raise SessionError(PROTECTED_CLASS_MESSAGE)
        return self._handle.claimInterface(interface)

    claim_interface = claimInterface

    def close(self) -> None:
        """Close the handle."""
        self._handle.close()

    def __enter__(self) -> USBHandle:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


class USB(_Chooser):
    """``ses.usb``: WebUSB's ``requestDevice``, ``getDevices`` and ``forget``, decided by the session."""

    kind = "usb"

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._context: Any = None
        self._usb_devices: dict[tuple[int, int], Any] = {}

    def _scan(self) -> list[Any]:
        usb1 = load_library("usb")
        if self._context is None:
            try:
                context = usb1.USBContext()
                context.open()
            except Exception as exc:
                raise DeviceLibraryError(f"{_INSTALL['usb']} ({exc})") from exc
            self._context = context
        devices = self._context.getDeviceList(skip_on_error=True)
        self._usb_devices = {(d.getBusNumber(), d.getDeviceAddress()): d for d in devices}
        return list(self._core.usb_records(devices, self._cache, self._namespace))

    def _key(self, record: Any) -> str:
        return str(record.device_id)

    def _structure(self, records: Sequence[Any]) -> Structure:
        r = records[0]
        configuration = None
        for c in r.configurations:
            if c["configurationValue"] == r.active_configuration:
                configuration = c
        usb = _bcd(r.usb_version)
        version = _bcd(r.device_version)
        return USBDevice(
            device_id=r.device_id, vendor_id=r.vendor_id, product_id=r.product_id,
            device_class=r.device_class, device_subclass=r.device_subclass,
            device_protocol=r.device_protocol, usb_version_major=usb[0],
            usb_version_minor=usb[1], usb_version_subminor=usb[2],
            device_version_major=version[0], device_version_minor=version[1],
            device_version_subminor=version[2], configurations=r.configurations,
            configuration=configuration, manufacturer_name=r.manufacturer,
            product_name=r.product_name, serial_number=r.serial_number,
        )

    async def request_device(self, filters: Any = None, *, origin: str,
                             exclusion_filters: Any = None) -> USBDevice:
        """Run the chooser: ``'select-usb-device'`` picks; ``NotFoundError`` when cancelled."""
        compiled = self._core.UsbFilters(filters, exclusion_filters)
        origin = _origin(origin, "usb.request_device")
        if not self._check_permission(origin):
            raise NotFoundError(NO_DEVICE_SELECTED)
        ses = self._session
        chosen = await self._choose(
            origin, compiled,
            lambda ev, devices, cb: ses.emit("select-usb-device", ev, SelectDeviceDetails(devices, None), cb),
            lambda d: ses.emit("usb-device-added", Event(ses), d, None),
            lambda d: ses.emit("usb-device-removed", Event(ses), d, None),
        )
        if not isinstance(chosen, USBDevice):
            raise NotFoundError(NO_DEVICE_SELECTED)
        return chosen

    async def get_devices(self, *, origin: str) -> list[USBDevice]:
        """Return the connected devices ``origin`` may use (``navigator.usb.getDevices``)."""
        return [d for d in await self._granted(origin, "usb.get_devices") if isinstance(d, USBDevice)]

    async def forget(self, device: USBDevice, *, origin: str) -> None:
        """Revoke ``origin``'s access to ``device`` and emit ``'usb-device-revoked'``."""
        await self._forget(device, origin, "usb.forget")

    def _emit_revoked(self, device: Structure, origin: str) -> None:
        self._session.emit("usb-device-revoked", Event(self._session), DeviceRevokedDetails(device, origin))

    def protected_classes(self) -> list[str]:
        """Return the protected classes: the default list, or what the session's handler answers."""
        handler = getattr(self._session, "_usb_protected_classes_handler", None)
        if handler is None:
            return list(DEFAULT_PROTECTED_CLASSES)
        try:
            answer = handler(ProtectedClassesDetails(list(DEFAULT_PROTECTED_CLASSES)))
        except Exception:
            log.exception("USB protected classes handler raised; keeping the default list")
            return list(DEFAULT_PROTECTED_CLASSES)
        if not isinstance(answer, (list, tuple)):
            log.error("USB protected classes handler must return a list of strings")
            return list(DEFAULT_PROTECTED_CLASSES)
        return [c for c in answer if isinstance(c, str) and c in USB_PROTECTED_CLASSES]

    def open(self, device: USBDevice, *, origin: str | None = None) -> USBHandle:
        """Open a granted device: a handle whose protected-class interfaces cannot be claimed."""
        record = self._check_open(device, origin)[0]
        codes = {USB_PROTECTED_CLASSES[c] for c in self.protected_classes()}
        protected: dict[int, bool] = {}
        for config in record.configurations:
            if config["configurationValue"] != record.active_configuration:
                continue
            for interface in config["interfaces"]:
                protected[interface["interfaceNumber"]] = any(
                    a["interfaceClass"] in codes for a in interface["alternates"])
        dev = self._usb_devices.get((record.bus, record.address))
        if dev is None:
            raise NotFoundError("The device was disconnected.")
        return USBHandle(dev.open(), protected)

    async def close(self) -> None:
        """Release the libusb context (the session does this when it closes)."""
        context, self._context = self._context, None
        self._usb_devices = {}
        if context is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(_EXECUTOR, context.close)

    def _start_hotplug(self, loop: asyncio.AbstractEventLoop,
                       wake: asyncio.Event) -> Callable[[], None] | None:
        """Wake the watcher from libusb's hotplug callback when libusb has hotplug support."""
        usb1 = load_library("usb")
        context = self._context
        if context is None or not usb1.hasCapability(usb1.CAP_HAS_HOTPLUG):
            return None
        stop = threading.Event()

        def on_hotplug(_context: Any, _device: Any, _event: int) -> bool:
            with contextlib.suppress(RuntimeError):  # the loop may be closing
                loop.call_soon_threadsafe(wake.set)
            return stop.is_set()

        try:
            handle = context.hotplugRegisterCallback(on_hotplug, flags=0)
        except usb1.USBError:
            return None

        def pump() -> None:
            while not stop.is_set():
                try:
                    context.handleEventsTimeout(0.1)
                except usb1.USBError:
                    break
            try:
                context.hotplugDeregisterCallback(handle)
            except (usb1.USBError, ValueError, KeyError):
                log.debug("libusb hotplug callback already gone")

        thread = threading.Thread(target=pump, name="websession-usb-hotplug", daemon=True)
        thread.start()

        def stopper() -> None:
            stop.set()
            thread.join()

        return stopper


class Serial(_Chooser):
    """``ses.serial``: Web Serial's ``requestPort``, ``getPorts`` and ``forget``."""

    kind = "serial"

    def _scan(self) -> list[Any]:
        list_ports = load_library("serial")
        return list(self._core.serial_records(list_ports.comports(), self._cache, self._namespace))

    def _key(self, record: Any) -> str:
        return str(record.port_id)

    def _device_id(self, device: Structure) -> str:
        return str(device["portId"])

    def _structure(self, records: Sequence[Any]) -> Structure:
        r = records[0]
        return SerialPort(
            port_id=r.port_id, port_name=r.name, display_name=r.display_name,
            vendor_id=None if r.vendor_id < 0 else str(r.vendor_id),
            product_id=None if r.product_id < 0 else str(r.product_id),
            serial_number=r.serial_number, usb_driver_name=None, device_instance_id=None,
        )

    async def request_port(self, filters: Any = None, *, origin: str) -> SerialPort:
        """Run the chooser: ``'select-serial-port'`` picks; ``NotFoundError`` when cancelled."""
        compiled = self._core.SerialFilters(filters)
        origin = _origin(origin, "serial.request_port")
        if not self._check_permission(origin):
            raise NotFoundError(NO_DEVICE_SELECTED)
        ses = self._session
        chosen = await self._choose(
            origin, compiled,
            lambda ev, ports, cb: ses.emit("select-serial-port", ev, ports, None, cb),
            lambda p: ses.emit("serial-port-added", Event(ses), p, None),
            lambda p: ses.emit("serial-port-removed", Event(ses), p, None),
        )
        if not isinstance(chosen, SerialPort):
            raise NotFoundError(NO_DEVICE_SELECTED)
        return chosen

    async def get_ports(self, *, origin: str) -> list[SerialPort]:
        """Return the ports ``origin`` may use (``navigator.serial.getPorts``)."""
        return [p for p in await self._granted(origin, "serial.get_ports") if isinstance(p, SerialPort)]

    async def forget(self, port: SerialPort, *, origin: str) -> None:
        """Revoke ``origin``'s access to ``port`` and emit ``'serial-port-revoked'``."""
        await self._forget(port, origin, "serial.forget")

    def _emit_revoked(self, device: Structure, origin: str) -> None:
        self._session.emit("serial-port-revoked", Event(self._session),
                           SerialPortRevokedDetails(device, origin, None))

    def open(self, port: SerialPort, *, origin: str | None = None, **settings: Any) -> Any:
        """Open a granted port: a ``serial.Serial`` configured by ``settings``."""
        record = self._check_open(port, origin)[0]
        try:
            import serial
        except ImportError as exc:
            raise DeviceLibraryError(f"{_INSTALL['serial']} ({exc})") from exc
        return serial.Serial(record.path, **settings)


# --------------------------------------------------------------------------- the session part

class DeviceSessionMixin(CamelAliases):
    """Session methods for devices; state is made by ``_setup_devices``."""

    _device_permission_handler: Callable[..., Any] | None
    _usb_protected_classes_handler: Callable[..., Any] | None
    _hid: HID
    _usb: USB
    _serial: Serial

    def _setup_devices(self) -> None:
        self._device_permission_handler = None
        self._usb_protected_classes_handler = None
        self._hid = HID(self)
        self._usb = USB(self)
        self._serial = Serial(self)

    async def _teardown_devices(self) -> None:
        await self._usb.close()

    @property
    def hid(self) -> HID:
        """WebHID for this session: ``await ses.hid.request_device(filters, origin=...)``."""
        return self._hid

    @property
    def usb(self) -> USB:
        """WebUSB for this session: ``await ses.usb.request_device(filters, origin=...)``."""
        return self._usb

    @property
    def serial(self) -> Serial:
        """Web Serial for this session: ``await ses.serial.request_port(filters, origin=...)``."""
        return self._serial

    def set_device_permission_handler(self, handler: Callable[..., Any] | None) -> None:
        """Answer device permission checks: ``handler(details{device_type, origin, device}) -> bool``."""
        check_handler(handler)
        self._device_permission_handler = handler

    def set_usb_protected_classes_handler(self, handler: Callable[..., Any] | None) -> None:
        """Override the protected USB classes: ``handler(details{protected_classes}) -> list``."""
        check_handler(handler)
        self._usb_protected_classes_handler = handler

    setUSBProtectedClassesHandler = set_usb_protected_classes_handler
