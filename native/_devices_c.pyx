# cython: language_level=3
"""Device core, compiled: same interface and answers as ``websession._devices_py``.

Records keep their filter keys in C arrays (HID usages, USB interface classes) and the filter
sets are C arrays walked without touching Python objects. hidapi's enumeration list and libusb's
descriptors are read in C through the function pointers the ``hid`` and ``usb1`` packages
already loaded (no link-time dependency: the structures below mirror ``hidapi.h`` and
``libusb.h``). See ``_devices_py`` for the semantics.
"""

import ctypes
import os
import uuid

from libc.stdint cimport uint8_t, uint16_t, uint32_t, int64_t, uintptr_t
from libc.stdlib cimport malloc, free
from libc.stddef cimport wchar_t
from cpython.list cimport PyList_GET_SIZE, PyList_GET_ITEM
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE

cdef extern from "Python.h":
    object PyUnicode_FromWideChar(const wchar_t* w, Py_ssize_t size)

SPP_SERVICE_CLASS_ID = "00001101-0000-1000-8000-00805f9b34fb"
_BLUETOOTH_BASE = "-0000-1000-8000-00805f9b34fb"

_UNIT_SYSTEMS = {0: "none", 1: "si-linear", 2: "si-rotation", 3: "english-linear",
                 4: "english-rotation", 0xF: "vendor-defined"}
_UNIT_FACTORS = ("unitFactorLengthExponent", "unitFactorMassExponent", "unitFactorTimeExponent",
                 "unitFactorTemperatureExponent", "unitFactorCurrentExponent",
                 "unitFactorLuminousIntensityExponent")
_ENDPOINT_TYPES = ("control", "isochronous", "bulk", "interrupt")
_REPORT_KEYS = {8: "inputReports", 9: "outputReports", 11: "featureReports"}


# --------------------------------------------------------------------------- report descriptors

cdef inline long _signed(unsigned long value, int size):
    cdef int bits = size * 8
    if size and value & (1UL << (bits - 1)):
        return <long>value - <long>(1UL << bits)
    return <long>value


cdef inline int _nibble(unsigned long value):
    cdef int v = value & 0xF
    return v - 16 if v > 7 else v


cdef dict _report_item(int tag, unsigned long flags, unsigned long page, long lmin, long lmax,
                       long pmin, long pmax, unsigned long unit_exp, unsigned long unit,
                       unsigned long rsize, unsigned long rcount, list usages, tuple umin,
                       tuple umax):
    cdef list full = []
    for u, s in usages:
        full.append(u if s == 4 else ((page << 16) | u))
    item = {
        "isAbsolute": not flags & 0x04,
        "isArray": not flags & 0x02,
        "isBufferedBytes": bool(flags & 0x100),
        "isConstant": bool(flags & 0x01),
        "isLinear": not flags & 0x10,
        "isRange": umin is not None and umax is not None,
        "isVolatile": bool(flags & 0x80) if tag != 8 else False,
        "hasNull": bool(flags & 0x40),
        "hasPreferredState": not flags & 0x20,
        "wrap": bool(flags & 0x08),
        "usages": full,
        "usageMinimum": (umin[0] if umin[1] == 4 else ((page << 16) | umin[0])) if umin is not None else 0,
        "usageMaximum": (umax[0] if umax[1] == 4 else ((page << 16) | umax[0])) if umax is not None else 0,
        "reportSize": rsize,
        "reportCount": rcount,
        "unitExponent": _nibble(unit_exp),
        "unitSystem": _UNIT_SYSTEMS.get(unit & 0xF, "reserved"),
    }
    cdef int i
    for i in range(6):
        item[_UNIT_FACTORS[i]] = _nibble(unit >> (4 * (i + 1)))
    item["logicalMinimum"] = lmin
    item["logicalMaximum"] = lmax
    item["physicalMinimum"] = pmin
    item["physicalMaximum"] = pmax
    return item


cdef void _add_report(dict collection, str key, unsigned long report_id, dict item) except *:
    cdef list reports = collection[key]
    for report in reports:
        if report["reportId"] == report_id:
            report["items"].append(item)
            return
    reports.append({"reportId": report_id, "items": [item]})


cdef struct Globals:
    unsigned long usage_page
    long logical_minimum
    long logical_maximum
    long physical_minimum
    long physical_maximum
    unsigned long unit_exponent
    unsigned long unit
    unsigned long report_size
    unsigned long report_id
    unsigned long report_count


def parse_report_descriptor(data):
    """Return the top-level collections of a HID report descriptor, in WebHID's shape."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"report descriptor must be bytes, not {type(data).__name__}")
    cdef bytes raw = bytes(data)
    cdef const unsigned char* p = raw
    cdef Py_ssize_t pos = 0, end = len(raw)
    cdef list top = [], stack = [], saved = []
    cdef Globals g
    g.usage_page = g.unit_exponent = g.unit = g.report_size = g.report_id = g.report_count = 0
    g.logical_minimum = g.logical_maximum = g.physical_minimum = g.physical_maximum = 0
    cdef list usages = []
    cdef tuple umin = None, umax = None, usage
    cdef unsigned char prefix
    cdef int size, kind, tag, k
    cdef unsigned long value, page
    cdef dict collection
    while pos < end:
        prefix = p[pos]
        if prefix == 0xFE:
            if pos + 2 >= end:
                break
            pos += 3 + p[pos + 1]
            continue
        size = (0, 1, 2, 4)[prefix & 3]
        if pos + 1 + size > end:
            break
        value = 0
        for k in range(size):
            value |= (<unsigned long>p[pos + 1 + k]) << (8 * k)
        pos += 1 + size
        kind = (prefix >> 2) & 3
        tag = prefix >> 4
        if kind == 0:
            if tag == 10:
                if usages:
                    usage = usages[0]
                elif umin is not None:
                    usage = umin
                else:
                    usage = (0, 1)
                page = (<unsigned long>usage[0] >> 16) if usage[1] == 4 else g.usage_page
                collection = {
                    "usagePage": page, "usage": usage[0] & 0xFFFF, "type": value & 0xFF,
                    "children": [], "inputReports": [], "outputReports": [], "featureReports": [],
                }
                (stack[len(stack) - 1]["children"] if stack else top).append(collection)
                stack.append(collection)
            elif tag == 12:
                if stack:
                    stack.pop()
            elif (tag == 8 or tag == 9 or tag == 11) and stack:
                _add_report(stack[len(stack) - 1], _REPORT_KEYS[tag], g.report_id, _report_item(
                    tag, value, g.usage_page, g.logical_minimum, g.logical_maximum,
                    g.physical_minimum, g.physical_maximum, g.unit_exponent, g.unit,
                    g.report_size, g.report_count, usages, umin, umax))
            usages = []
            umin = umax = None
        elif kind == 1:
            if tag == 0:
                g.usage_page = value & 0xFFFF
            elif tag == 1:
                g.logical_minimum = _signed(value, size)
            elif tag == 2:
                g.logical_maximum = _signed(value, size)
            elif tag == 3:
                g.physical_minimum = _signed(value, size)
            elif tag == 4:
                g.physical_maximum = _signed(value, size)
            elif tag == 5:
                g.unit_exponent = value
            elif tag == 6:
                g.unit = value
            elif tag == 7:
                g.report_size = value
            elif tag == 8:
                g.report_id = value & 0xFF
            elif tag == 9:
                g.report_count = value
            elif tag == 10:
                saved.append((g.usage_page, g.logical_minimum, g.logical_maximum,
                              g.physical_minimum, g.physical_maximum, g.unit_exponent, g.unit,
                              g.report_size, g.report_id, g.report_count))
            elif tag == 11 and saved:
                (g.usage_page, g.logical_minimum, g.logical_maximum, g.physical_minimum,
                 g.physical_maximum, g.unit_exponent, g.unit, g.report_size, g.report_id,
                 g.report_count) = saved.pop()
        elif kind == 2:
            if tag == 0:
                usages.append((value, size))
            elif tag == 1:
                umin = (value, size)
            elif tag == 2:
                umax = (value, size)
    return top


# --------------------------------------------------------------------------- records

cdef class HidRecord:
    """One HID interface (one ``hidraw`` node) as hidapi and the report descriptor describe it."""

    cdef readonly str path
    cdef readonly int vendor_id, product_id, release, interface_number, bus_type
    cdef readonly str serial_number, manufacturer, product_name, physical_id, guid
    cdef readonly tuple usages
    cdef readonly list collections
    cdef uint32_t* _usages
    cdef Py_ssize_t _n_usages

    def __init__(self, str path, int vendor_id, int product_id, str serial_number,
                 str manufacturer, str product_name, int release, int interface_number,
                 int bus_type, str physical_id, str guid, tuple usages, list collections):
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
        self._n_usages = len(usages)
        self._usages = <uint32_t*>malloc(max(self._n_usages, 1) * sizeof(uint32_t))
        if self._usages == NULL:
            raise MemoryError()
        cdef Py_ssize_t i = 0
        for page, use in usages:
            self._usages[i] = ((<uint32_t>page) << 16) | (<uint32_t>use & 0xFFFF)
            i += 1

    def __dealloc__(self):
        free(self._usages)

    def to_dict(self):
        """Return every field by name (for comparisons and the command line)."""
        return {name: getattr(self, name) for name in _HID_FIELDS}

    def __repr__(self):
        return f"<HidRecord {self.path} {self.vendor_id:04x}:{self.product_id:04x}>"


_HID_FIELDS = ("bus_type", "collections", "guid", "interface_number", "manufacturer", "path",
               "physical_id", "product_id", "product_name", "release", "serial_number", "usages",
               "vendor_id")


cdef class UsbRecord:
    """One USB device as libusb's descriptors (and sysfs strings, on Linux) describe it."""

    cdef readonly int bus, address, vendor_id, product_id, device_class, device_subclass
    cdef readonly int device_protocol, usb_version, device_version
    cdef readonly str port_path, device_id
    cdef readonly object manufacturer, product_name, serial_number, active_configuration
    cdef readonly list configurations
    cdef readonly tuple interface_classes
    cdef uint32_t* _classes
    cdef Py_ssize_t _n_classes

    def __init__(self, int bus, int address, str port_path, int vendor_id, int product_id,
                 int device_class, int device_subclass, int device_protocol, int usb_version,
                 int device_version, manufacturer, product_name, serial_number,
                 list configurations, active_configuration, str device_id,
                 tuple interface_classes):
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
        # The device's own class first, then every interface alternate's.
        self._n_classes = len(interface_classes) + 1
        self._classes = <uint32_t*>malloc(self._n_classes * sizeof(uint32_t))
        if self._classes == NULL:
            raise MemoryError()
        self._classes[0] = _pack(device_class, device_subclass, device_protocol)
        cdef Py_ssize_t i = 1
        for c, s, p in interface_classes:
            self._classes[i] = _pack(c, s, p)
            i += 1

    def __dealloc__(self):
        free(self._classes)

    def to_dict(self):
        """Return every field by name (for comparisons and the command line)."""
        return {name: getattr(self, name) for name in _USB_FIELDS}

    def __repr__(self):
        return f"<UsbRecord {self.bus}-{self.port_path} {self.vendor_id:04x}:{self.product_id:04x}>"


_USB_FIELDS = ("active_configuration", "address", "bus", "configurations", "device_class",
               "device_id", "device_protocol", "device_subclass", "device_version",
               "interface_classes", "manufacturer", "port_path", "product_id", "product_name",
               "serial_number", "usb_version", "vendor_id")


cdef inline uint32_t _pack(int c, int s, int p) noexcept:
    return ((<uint32_t>c & 0xFF) << 16) | ((<uint32_t>s & 0xFF) << 8) | (<uint32_t>p & 0xFF)


cdef class SerialRecord:
    """One serial port as pyserial lists it; ``vendor_id``/``product_id`` are -1 when not USB."""

    cdef readonly str path, name, port_id
    cdef readonly int vendor_id, product_id
    cdef readonly object serial_number, display_name, manufacturer, location
    cdef readonly object bluetooth_service_class_id

    def __init__(self, str path, str name, int vendor_id, int product_id, serial_number,
                 display_name, manufacturer, location, bluetooth_service_class_id, str port_id):
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

    def to_dict(self):
        """Return every field by name (for comparisons and the command line)."""
        return {name: getattr(self, name) for name in _SERIAL_FIELDS}

    def __repr__(self):
        return f"<SerialRecord {self.path}>"


_SERIAL_FIELDS = ("bluetooth_service_class_id", "display_name", "location", "manufacturer",
                  "name", "path", "port_id", "product_id", "serial_number", "vendor_id")


cdef str _device_id(namespace, str key):
    return str(uuid.uuid5(namespace, key))


# --------------------------------------------------------------------------- enumeration

cdef object _read(str path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


cdef object _text(str path):
    raw = _read(path)
    if raw is None:
        return None
    return raw.decode("utf-8", "replace").rstrip("\n")


cdef tuple _hid_sysfs(str path):
    name = os.path.basename(path)
    base = f"/sys/class/hidraw/{name}/device"
    descriptor = _read(base + "/report_descriptor")
    physical = None
    if descriptor is not None:
        physical = os.path.dirname(os.path.dirname(os.path.realpath(base)))
    return descriptor, physical


# hidapi.h `struct hid_device_info`; `bus_type` exists from hidapi 0.13 on.
cdef struct hid_device_info:
    char* path
    unsigned short vendor_id
    unsigned short product_id
    wchar_t* serial_number
    unsigned short release_number
    wchar_t* manufacturer_string
    wchar_t* product_string
    unsigned short usage_page
    unsigned short usage
    int interface_number
    hid_device_info* next
    int bus_type

ctypedef hid_device_info* (*hid_enumerate_t)(unsigned short, unsigned short) noexcept nogil
ctypedef void (*hid_free_enumeration_t)(hid_device_info*) noexcept nogil

cdef hid_enumerate_t _hid_enumerate = NULL
cdef hid_free_enumeration_t _hid_free = NULL
cdef bint _hid_has_bus = False
cdef object _hid_lib = None


cdef void _bind_hid(lib) except *:
    global _hid_enumerate, _hid_free, _hid_has_bus, _hid_lib
    if _hid_lib is lib:
        return
    cdll = lib.hidapi
    _hid_enumerate = <hid_enumerate_t><uintptr_t>ctypes.cast(cdll.hid_enumerate, ctypes.c_void_p).value
    _hid_free = <hid_free_enumeration_t><uintptr_t>ctypes.cast(
        cdll.hid_free_enumeration, ctypes.c_void_p).value
    _hid_has_bus = tuple(lib.version) >= (0, 13, 0)
    _hid_lib = lib


cdef str _wide(const wchar_t* w):
    if w == NULL:
        return ""
    return PyUnicode_FromWideChar(w, -1)


def hid_records(lib, dict cache, namespace):
    """Enumerate HID interfaces through hidapi (``lib`` is the ``hid`` module)."""
    _bind_hid(lib)
    cdef hid_device_info* head
    with nogil:
        head = _hid_enumerate(0, 0)
    cdef hid_device_info* cur = head
    cdef dict groups = {}
    cdef list infos
    try:
        while cur != NULL:
            path = (<bytes>cur.path).decode("utf-8", "surrogateescape") if cur.path != NULL else ""
            infos = groups.get(path)
            if infos is None:
                infos = []
                groups[path] = infos
                infos.append((cur.vendor_id, cur.product_id, _wide(cur.serial_number),
                              cur.release_number, cur.interface_number,
                              cur.bus_type if _hid_has_bus else 0,
                              _wide(cur.manufacturer_string), _wide(cur.product_string),
                              cur.usage_page, cur.usage))
            else:
                infos.append((0, 0, "", 0, 0, 0, "", "", cur.usage_page, cur.usage))
            cur = cur.next
    finally:
        _hid_free(head)
    cdef list out = []
    for path, infos in groups.items():
        out.append(_hid_record(path, infos, cache, namespace))
    return out


cdef HidRecord _hid_record(str path, list infos, dict cache, namespace):
    info = infos[0]
    key = (path, info[0], info[1], info[2], info[3], info[4], info[5])
    record = cache.get(key)
    if record is not None:
        return record
    descriptor, physical = _hid_sysfs(path)
    if descriptor is not None:
        collections = parse_report_descriptor(descriptor)
    else:
        collections = [
            {"usagePage": e[8], "usage": e[9], "type": 1, "children": [], "inputReports": [],
             "outputReports": [], "featureReports": []}
            for e in infos
        ]
    serial = info[2]
    ident = physical or f"{info[0]:04x}:{info[1]:04x}:{serial or path}"
    record = HidRecord(
        path, info[0], info[1], serial, info[6], info[7], info[3], info[4], info[5],
        _device_id(namespace, "hid-device|" + ident),
        _device_id(namespace, "hid|" + "|".join(map(str, key))),
        tuple((int(c["usagePage"]), int(c["usage"])) for c in collections), collections,
    )
    cache[key] = record
    return record


# libusb.h descriptor structures (libusb 1.0 ABI).
cdef struct libusb_device_descriptor:
    uint8_t bLength
    uint8_t bDescriptorType
    uint16_t bcdUSB
    uint8_t bDeviceClass
    uint8_t bDeviceSubClass
    uint8_t bDeviceProtocol
    uint8_t bMaxPacketSize0
    uint16_t idVendor
    uint16_t idProduct
    uint16_t bcdDevice
    uint8_t iManufacturer
    uint8_t iProduct
    uint8_t iSerialNumber
    uint8_t bNumConfigurations

cdef struct libusb_endpoint_descriptor:
    uint8_t bLength
    uint8_t bDescriptorType
    uint8_t bEndpointAddress
    uint8_t bmAttributes
    uint16_t wMaxPacketSize
    uint8_t bInterval
    uint8_t bRefresh
    uint8_t bSynchAddress
    const unsigned char* extra
    int extra_length

cdef struct libusb_interface_descriptor:
    uint8_t bLength
    uint8_t bDescriptorType
    uint8_t bInterfaceNumber
    uint8_t bAlternateSetting
    uint8_t bNumEndpoints
    uint8_t bInterfaceClass
    uint8_t bInterfaceSubClass
    uint8_t bInterfaceProtocol
    uint8_t iInterface
    const libusb_endpoint_descriptor* endpoint
    const unsigned char* extra
    int extra_length

cdef struct libusb_interface:
    const libusb_interface_descriptor* altsetting
    int num_altsetting

cdef struct libusb_config_descriptor:
    uint8_t bLength
    uint8_t bDescriptorType
    uint16_t wTotalLength
    uint8_t bNumInterfaces
    uint8_t bConfigurationValue
    uint8_t iConfiguration
    uint8_t bmAttributes
    uint8_t MaxPower
    const libusb_interface* interface
    const unsigned char* extra
    int extra_length

ctypedef int (*get_device_descriptor_t)(void*, libusb_device_descriptor*) noexcept nogil
ctypedef int (*get_config_descriptor_t)(void*, uint8_t, libusb_config_descriptor**) noexcept nogil
ctypedef void (*free_config_descriptor_t)(libusb_config_descriptor*) noexcept nogil
ctypedef uint8_t (*get_uint8_t)(void*) noexcept nogil
ctypedef int (*get_port_numbers_t)(void*, uint8_t*, int) noexcept nogil

cdef get_device_descriptor_t _usb_device_descriptor = NULL
cdef get_config_descriptor_t _usb_config_descriptor = NULL
cdef free_config_descriptor_t _usb_free_config = NULL
cdef get_uint8_t _usb_bus = NULL
cdef get_uint8_t _usb_address = NULL
cdef get_port_numbers_t _usb_ports = NULL


cdef void* _pointer_value(object pointer) except? NULL:
    """Return the address a ctypes pointer holds, read through its buffer (no ctypes call)."""
    cdef Py_buffer view
    cdef void* value
    if type(pointer) is int:  # usb1 keeps some device pointers as plain addresses
        return <void*><uintptr_t>pointer
    PyObject_GetBuffer(pointer, &view, PyBUF_SIMPLE)
    try:
        if view.len != sizeof(void*):
            raise TypeError("expected a ctypes pointer")
        value = (<void**>view.buf)[0]
    finally:
        PyBuffer_Release(&view)
    return value


cdef uintptr_t _fn(lib, str name) except 0:
    value = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
    if not value:
        raise ImportError(f"libusb does not export {name}")
    return <uintptr_t>value


cdef void _bind_usb() except *:
    global _usb_device_descriptor, _usb_config_descriptor, _usb_free_config, _usb_bus
    global _usb_address, _usb_ports
    if _usb_device_descriptor != NULL:
        return
    import usb1
    lib = usb1.libusb1.libusb
    _usb_config_descriptor = <get_config_descriptor_t>_fn(lib, "libusb_get_config_descriptor")
    _usb_free_config = <free_config_descriptor_t>_fn(lib, "libusb_free_config_descriptor")
    _usb_bus = <get_uint8_t>_fn(lib, "libusb_get_bus_number")
    _usb_address = <get_uint8_t>_fn(lib, "libusb_get_device_address")
    _usb_ports = <get_port_numbers_t>_fn(lib, "libusb_get_port_numbers")
    _usb_device_descriptor = <get_device_descriptor_t>_fn(lib, "libusb_get_device_descriptor")


cdef dict _usb_sysfs(int bus, str ports):
    base = f"/sys/bus/usb/devices/{bus}-{ports}" if ports else f"/sys/bus/usb/devices/usb{bus}"
    active = _text(base + "/bConfigurationValue")
    return {
        "manufacturer": _text(base + "/manufacturer"),
        "product": _text(base + "/product"),
        "serial": _text(base + "/serial"),
        "active": int(active) if active and active.strip().isdigit() else None,
        "base": base,
    }


def usb_records(devices, dict cache, namespace):
    """Turn ``usb1.USBDevice`` objects into records (descriptors from libusb, strings from sysfs)."""
    _bind_usb()
    cdef list out = []
    cdef void* dev
    cdef libusb_device_descriptor desc
    cdef uint8_t ports_buf[8]
    cdef int n_ports, i, bus, address
    cdef unsigned long long packed
    for device in devices:
        dev = _pointer_value(device.device_p)
        if _usb_device_descriptor(dev, &desc) != 0:
            continue
        bus = _usb_bus(dev)
        address = _usb_address(dev)
        n_ports = _usb_ports(dev, ports_buf, 8)
        if n_ports < 0:
            n_ports = 0
        # The port path packed in an integer (up to 7 one-byte ports after the count) keeps the cache
        # key cheap; the string is built only for a device seen for the first time.
        packed = <unsigned long long>n_ports
        for i in range(n_ports):
            packed = (packed << 8) | ports_buf[i]
        key = (bus, address, packed, desc.idVendor, desc.idProduct, desc.bcdDevice)
        record = cache.get(key)
        if record is None:
            ports = ".".join([str(ports_buf[i]) for i in range(n_ports)])
            record = _usb_record(dev, &desc, bus, address, ports, namespace)
            cache[key] = record
        out.append(record)
    return out


cdef UsbRecord _usb_record(void* dev, libusb_device_descriptor* desc, int bus, int address,
                           str ports, namespace):
    sysfs = _usb_sysfs(bus, ports)
    cdef list configurations = [], classes = [], interfaces, alternates, endpoints
    cdef libusb_config_descriptor* cfg
    cdef const libusb_interface_descriptor* alt
    cdef const libusb_endpoint_descriptor* ep
    cdef int c, i, a, e, value
    sysname = os.path.basename(sysfs["base"])
    for c in range(desc.bNumConfigurations):
        if _usb_config_descriptor(dev, <uint8_t>c, &cfg) != 0:
            continue
        try:
            value = cfg.bConfigurationValue
            interfaces = []
            for i in range(cfg.bNumInterfaces):
                alternates = []
                for a in range(cfg.interface[i].num_altsetting):
                    alt = &cfg.interface[i].altsetting[a]
                    triple = (alt.bInterfaceClass, alt.bInterfaceSubClass, alt.bInterfaceProtocol)
                    classes.append(triple)
                    endpoints = []
                    for e in range(alt.bNumEndpoints):
                        ep = &alt.endpoint[e]
                        endpoints.append({
                            "endpointNumber": ep.bEndpointAddress & 0x0F,
                            "direction": "in" if ep.bEndpointAddress & 0x80 else "out",
                            "type": _ENDPOINT_TYPES[ep.bmAttributes & 3],
                            "packetSize": ep.wMaxPacketSize & 0x7FF,
                        })
                    alternate = {
                        "alternateSetting": alt.bAlternateSetting,
                        "interfaceClass": triple[0],
                        "interfaceSubclass": triple[1],
                        "interfaceProtocol": triple[2],
                        "endpoints": endpoints,
                    }
                    if sysfs["active"] == value:
                        name = _text(f"{sysfs['base']}/{sysname}:{value}.{alt.bInterfaceNumber}/interface")
                        if name is not None:
                            alternate["interfaceName"] = name
                    alternates.append(alternate)
                if alternates:
                    interfaces.append({
                        "interfaceNumber": cfg.interface[i].altsetting[0].bInterfaceNumber,
                        "alternate": alternates[0],
                        "alternates": alternates,
                    })
            configurations.append({
                "configurationValue": value, "configurationName": "", "interfaces": interfaces,
            })
        finally:
            _usb_free_config(cfg)
    serial = sysfs["serial"]
    active = sysfs["active"]
    if active is None and configurations:
        active = configurations[0]["configurationValue"]
    return UsbRecord(
        bus, address, ports, desc.idVendor, desc.idProduct, desc.bDeviceClass,
        desc.bDeviceSubClass, desc.bDeviceProtocol, desc.bcdUSB, desc.bcdDevice,
        sysfs["manufacturer"], sysfs["product"], serial, configurations, active,
        _device_id(namespace, f"usb|{bus}-{ports}|{address}|{desc.idVendor}:{desc.idProduct}|{serial}"),
        tuple(classes),
    )


def serial_records(ports, dict cache, namespace):
    """Turn pyserial ``ListPortInfo`` objects into records."""
    cdef list out = []
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

cdef str _where(str argument, Py_ssize_t index, str key):
    return f"{argument}[{index}].{key}"


cdef int _int_field(value, str where, int maximum) except -1:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where} must be an integer, not {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise TypeError(f"{where} is outside the range 0..{maximum}: {value}")
    return value


from collections.abc import Iterable as _Iterable, Mapping as _Mapping


cdef list _filter_dicts(filters, str argument):
    if filters is None:
        return []
    if isinstance(filters, (_Mapping, str, bytes)) or not isinstance(filters, _Iterable):
        raise TypeError(f"{argument} must be a list of filter objects")
    out = []
    for i, f in enumerate(filters):
        if not isinstance(f, _Mapping):
            raise TypeError(f"{argument}[{i}] must be a filter object (a dict), not {type(f).__name__}")
        out.append(f)
    return out


cdef dict _keys(f, dict spec, str argument, Py_ssize_t i):
    got = {}
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


cdef struct HidFilter:
    int vendor
    int product
    int page
    int usage


cdef HidFilter _hid_filter(f, str argument, Py_ssize_t i) except *:
    got = _keys(f, _HID_KEYS, argument, i)
    vals = {k: _int_field(v, _where(argument, i, k), 0xFFFF) for k, v in got.items()}
    if not vals:
        raise TypeError("A filter must provide a property to filter by.")
    if "product_id" in vals and "vendor_id" not in vals:
        raise TypeError("A filter containing a productId must also contain a vendorId.")
    if "usage" in vals and "usage_page" not in vals:
        raise TypeError("A filter containing a usage must also contain a usagePage.")
    cdef HidFilter out
    out.vendor = vals.get("vendor_id", -1)
    out.product = vals.get("product_id", -1)
    out.page = vals.get("usage_page", -1)
    out.usage = vals.get("usage", -1)
    return out


cdef inline bint _hid_matches(const HidFilter* f, HidRecord r) noexcept:
    cdef Py_ssize_t i
    cdef uint32_t u
    if f.vendor >= 0 and (r.vendor_id != f.vendor or (f.product >= 0 and r.product_id != f.product)):
        return False
    if f.page >= 0:
        for i in range(r._n_usages):
            u = r._usages[i]
            if <int>(u >> 16) == f.page and (f.usage < 0 or <int>(u & 0xFFFF) == f.usage):
                return True
        return False
    return True


cdef class HidFilters:
    """WebHID ``filters`` and ``exclusionFilters``, validated; ``select`` applies them."""

    cdef HidFilter* _f
    cdef HidFilter* _x
    cdef Py_ssize_t _nf, _nx

    def __cinit__(self):
        self._f = self._x = NULL
        self._nf = self._nx = 0

    def __init__(self, filters=None, exclusion_filters=None):
        cdef list fs = _filter_dicts(filters, "filters")
        cdef list checked = [_hid_filter(f, "filters", i) for i, f in enumerate(fs)]
        ex = _filter_dicts(exclusion_filters, "exclusionFilters")
        if exclusion_filters is not None and not ex:
            raise TypeError(_EMPTY_EXCLUSIONS)
        cdef list excluded = [_hid_filter(f, "exclusionFilters", i) for i, f in enumerate(ex)]
        self._f = <HidFilter*>malloc(max(len(checked), 1) * sizeof(HidFilter))
        self._x = <HidFilter*>malloc(max(len(excluded), 1) * sizeof(HidFilter))
        if self._f == NULL or self._x == NULL:
            raise MemoryError()
        self._nf = len(checked)
        self._nx = len(excluded)
        for i in range(self._nf):
            self._f[i] = checked[i]
        for i in range(self._nx):
            self._x[i] = excluded[i]

    def __dealloc__(self):
        free(self._f)
        free(self._x)

    @property
    def filters(self):
        return [(self._f[i].vendor, self._f[i].product, self._f[i].page, self._f[i].usage)
                for i in range(self._nf)]

    @property
    def exclusions(self):
        return [(self._x[i].vendor, self._x[i].product, self._x[i].page, self._x[i].usage)
                for i in range(self._nx)]

    cdef bint _matches(self, HidRecord r) noexcept:
        cdef Py_ssize_t i
        cdef bint ok = self._nf == 0
        for i in range(self._nf):
            if _hid_matches(&self._f[i], r):
                ok = True
                break
        if not ok:
            return False
        for i in range(self._nx):
            if _hid_matches(&self._x[i], r):
                return False
        return True

    def matches(self, HidRecord record):
        """Tell whether ``record`` passes the filters and no exclusion filter."""
        return self._matches(record)

    def select(self, records):
        """Return the records that pass, in order."""
        cdef list items = records if type(records) is list else list(records)
        cdef list out = []
        cdef Py_ssize_t i, n = PyList_GET_SIZE(items)
        cdef object r
        for i in range(n):
            r = <object>PyList_GET_ITEM(items, i)
            if self._matches(<HidRecord?>r):
                out.append(r)
        return out


cdef struct UsbFilter:
    int vendor
    int product
    int cls
    int sub
    int proto


cdef tuple _usb_filter(f, str argument, Py_ssize_t i):
    got = _keys(f, _USB_KEYS, argument, i)
    vals = {}
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


cdef inline bint _usb_matches(const UsbFilter* f, object serial, UsbRecord r):
    cdef Py_ssize_t i
    cdef uint32_t t
    if f.vendor >= 0 and (r.vendor_id != f.vendor or (f.product >= 0 and r.product_id != f.product)):
        return False
    if serial is not None and r.serial_number != serial:
        return False
    if f.cls >= 0:
        for i in range(r._n_classes):
            t = r._classes[i]
            if <int>(t >> 16) == f.cls and (f.sub < 0 or (<int>((t >> 8) & 0xFF) == f.sub and (
                    f.proto < 0 or <int>(t & 0xFF) == f.proto))):
                return True
        return False
    return True


cdef class UsbFilters:
    """WebUSB ``filters`` and ``exclusionFilters``, validated; ``select`` applies them."""

    cdef UsbFilter* _f
    cdef UsbFilter* _x
    cdef Py_ssize_t _nf, _nx
    cdef list _fs, _xs
    cdef readonly list filters, exclusions

    def __cinit__(self):
        self._f = self._x = NULL
        self._nf = self._nx = 0

    def __init__(self, filters=None, exclusion_filters=None):
        self.filters = [_usb_filter(f, "filters", i)
                        for i, f in enumerate(_filter_dicts(filters, "filters"))]
        ex = _filter_dicts(exclusion_filters, "exclusionFilters")
        if exclusion_filters is not None and not ex:
            raise TypeError(_EMPTY_EXCLUSIONS)
        self.exclusions = [_usb_filter(f, "exclusionFilters", i) for i, f in enumerate(ex)]
        self._f = _usb_array(self.filters)
        self._x = _usb_array(self.exclusions)
        self._nf = len(self.filters)
        self._nx = len(self.exclusions)
        self._fs = [t[5] for t in self.filters]
        self._xs = [t[5] for t in self.exclusions]

    def __dealloc__(self):
        free(self._f)
        free(self._x)

    cdef bint _matches(self, UsbRecord r) except -1:
        cdef Py_ssize_t i
        cdef bint ok = self._nf == 0
        for i in range(self._nf):
            if _usb_matches(&self._f[i], <object>PyList_GET_ITEM(self._fs, i), r):
                ok = True
                break
        if not ok:
            return False
        for i in range(self._nx):
            if _usb_matches(&self._x[i], <object>PyList_GET_ITEM(self._xs, i), r):
                return False
        return True

    def matches(self, UsbRecord record):
        """Tell whether ``record`` passes the filters and no exclusion filter."""
        return self._matches(record)

    def select(self, records):
        """Return the records that pass, in order."""
        cdef list items = records if type(records) is list else list(records)
        cdef list out = []
        cdef Py_ssize_t i, n = PyList_GET_SIZE(items)
        cdef object r
        for i in range(n):
            r = <object>PyList_GET_ITEM(items, i)
            if self._matches(<UsbRecord?>r):
                out.append(r)
        return out


cdef UsbFilter* _usb_array(list filters) except NULL:
    cdef UsbFilter* arr = <UsbFilter*>malloc(max(len(filters), 1) * sizeof(UsbFilter))
    if arr == NULL:
        raise MemoryError()
    cdef Py_ssize_t i = 0
    for t in filters:
        arr[i].vendor, arr[i].product, arr[i].cls, arr[i].sub, arr[i].proto = t[0], t[1], t[2], t[3], t[4]
        i += 1
    return arr


def canonical_uuid(value, str where):
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


cdef tuple _serial_filter(f, Py_ssize_t i):
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


cdef class SerialFilters:
    """Web Serial ``filters``, validated; ``select`` applies them."""

    cdef readonly list filters

    def __init__(self, filters=None):
        self.filters = [_serial_filter(f, i) for i, f in enumerate(_filter_dicts(filters, "filters"))]

    cdef bint _matches(self, SerialRecord r) except -1:
        if not self.filters:
            return True
        for vendor, product, bt in self.filters:
            if bt is not None:
                if r.bluetooth_service_class_id == bt:
                    return True
            elif r.vendor_id >= 0 and r.vendor_id == vendor and (product < 0 or r.product_id == product):
                return True
        return False

    def matches(self, SerialRecord record):
        """Tell whether ``record`` passes the filters."""
        return self._matches(record)

    def select(self, records):
        """Return the records that pass, in order."""
        return [r for r in records if self._matches(<SerialRecord?>r)]
