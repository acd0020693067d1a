// The PAC runtime: the standard Netscape helper functions with the behaviour of Chromium's
// copy (services/proxy_resolver/pac_js_library.h, from Mozilla's ProxyAutoConfig.cpp), the
// Microsoft IPv6 "Ex" extensions and the functions Chromium implements natively
// (services/proxy_resolver/proxy_resolver_v8.cc): isPlainHostName, dnsResolve(Ex),
// myIpAddress(Ex), sortIpAddressList, isInNetEx, alert.
//
// Host names reach the embedder as given; it converts non-ASCII names to punycode before
// resolving them (GetHostnameArgument). Host lookups never block: the embedder fills __ws.dns before a run. A lookup that is not
// there records the host, marks the run abandoned and throws; the embedder resolves the
// missing hosts through the session's resolver and runs again (Chromium's "non-blocking"
// ProxyResolverV8Tracing does the same).
var __ws = {
  dns: {},          // "A:" + host -> "1.2.3.4" or null; "X:" + host -> "a;b" or ""
  missing: [],
  abandoned: false,
  alerts: [],
  calls: {myIpAddress: 0, myIpAddressEx: 0},
  ABANDON: {toString: function () { return "__ws_abandon"; }}
};

(function (global) {
  "use strict";

  function lookup(kind, host) {
    var key = kind + ":" + host;
    if (Object.prototype.hasOwnProperty.call(__ws.dns, key)) {
      return __ws.dns[key];
    }
    __ws.missing.push(key);
    __ws.abandoned = true;
    throw __ws.ABANDON;
  }

  global.dnsResolve = function (host) {
    if (typeof host !== "string") return null;
    return lookup("A", host);
  };

  global.dnsResolveEx = function (host) {
    if (typeof host !== "string") return null;
    return lookup("X", host);
  };

  global.myIpAddress = function () {
    __ws.calls.myIpAddress++;
    return lookup("M", "");
  };

  global.myIpAddressEx = function () {
    __ws.calls.myIpAddressEx++;
    return lookup("MX", "");
  };

  global.alert = function (message) {
    __ws.alerts.push(String(message));
  };

  // -- IP literals (net::IPAddress::AssignFromIPLiteral) -----------------------------------

  function parseIPv4Number(part) {
    if (part.length === 0) return -1;
    var radix = 10;
    var digits = part;
    if (/^0[xX]/.test(part)) {
      radix = 16;
      digits = part.substring(2);
      if (digits.length === 0) return 0;
      if (!/^[0-9a-fA-F]+$/.test(digits)) return -1;
    } else if (part.length > 1 && part.charAt(0) === "0") {
      radix = 8;
      digits = part.substring(1);
      if (!/^[0-7]+$/.test(digits)) return -1;
    } else if (!/^[0-9]+$/.test(part)) {
      return -1;
    }
    return parseInt(digits, radix);
  }

  // Returns an array of 4 bytes, or null.
  function parseIPv4(text) {
    if (text.length && text.charAt(text.length - 1) === ".") {
      text = text.substring(0, text.length - 1);
    }
    var parts = text.split(".");
    if (parts.length > 4 || text.length === 0) return null;
    var numbers = [];
    for (var i = 0; i < parts.length; i++) {
      var n = parseIPv4Number(parts[i]);
      if (n < 0) return null;
      numbers.push(n);
    }
    for (var j = 0; j < numbers.length - 1; j++) {
      if (numbers[j] > 255) return null;
    }
    var last = numbers[numbers.length - 1];
    if (last >= Math.pow(256, 5 - numbers.length)) return null;
    var bytes = [0, 0, 0, 0];
    for (var k = 0; k < numbers.length - 1; k++) bytes[k] = numbers[k];
    for (var b = 3; b >= numbers.length - 1; b--) {
      bytes[b] = last % 256;
      last = Math.floor(last / 256);
    }
    return bytes;
  }

  // Returns an array of 16 bytes, or null.
  function parseIPv6(text) {
    if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
    var halves = text.split("::");
    if (halves.length > 2) return null;
    function groups(part) {
      if (part === "") return [];
      var out = [];
      var items = part.split(":");
      for (var i = 0; i < items.length; i++) {
        var item = items[i];
        if (i === items.length - 1 && item.indexOf(".") !== -1) {
          if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(item)) return null;
          var v4 = item.split(".");
          for (var q = 0; q < 4; q++) if (+v4[q] > 255) return null;
          out.push((+v4[0] << 8) | +v4[1], (+v4[2] << 8) | +v4[3]);
        } else {
          if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return null;
          out.push(parseInt(item, 16));
        }
      }
      return out;
    }
    var head = groups(halves[0]);
    var tail = halves.length === 2 ? groups(halves[1]) : [];
    if (head === null || tail === null) return null;
    var words;
    if (halves.length === 2) {
      if (head.length + tail.length > 7) return null;
      words = head.slice();
      for (var z = head.length + tail.length; z < 8; z++) words.push(0);
      words = words.concat(tail);
    } else {
      if (head.length !== 8) return null;
      words = head;
    }
    var bytes = [];
    for (var w = 0; w < 8; w++) bytes.push(words[w] >> 8, words[w] & 255);
    return bytes;
  }

  function parseIPLiteral(text) {
    if (text.indexOf(":") !== -1) {
      var v6 = parseIPv6(text);
      return v6 === null ? null : {v6: true, bytes: v6};
    }
    var v4 = parseIPv4(text);
    return v4 === null ? null : {v6: false, bytes: v4};
  }

  function mapped(address) {
    if (address.v6) return address.bytes;
    return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255].concat(address.bytes);
  }

  function compareBytes(a, b) {
    for (var i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) return a[i] - b[i];
    }
    return 0;
  }

  global.isPlainHostName = function (host) {
    if (arguments.length < 1 || typeof host !== "string") {
      throw new TypeError("Requires 1 string parameter");
    }
    if (host.indexOf(".") !== -1) return false;
    // A valid IPv6 literal (without brackets) is not a plain host name either.
    return parseIPv6(host) === null;
  };

  global.sortIpAddressList = function (list) {
    if (arguments.length < 1 || typeof list !== "string") return null;
    var items = list.split(";");
    var entries = [];
    for (var i = 0; i < items.length; i++) {
      var text = items[i].replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
      if (text === "") continue;
      var address = parseIPLiteral(text);
      if (address === null) return false;
      entries.push({text: text, address: address, order: entries.length});
    }
    if (entries.length === 0) return false;
    // IPv6 before IPv4, then by value; stable.
    entries.sort(function (a, b) {
      if (a.address.v6 !== b.address.v6) return a.address.v6 ? -1 : 1;
      var c = compareBytes(a.address.bytes, b.address.bytes);
      return c !== 0 ? c : a.order - b.order;
    });
    var out = [];
    for (var j = 0; j < entries.length; j++) out.push(entries[j].text);
    return out.join(";");
  };

  global.isInNetEx = function (ip, prefix) {
    if (arguments.length < 2 || typeof ip !== "string" || typeof prefix !== "string") {
      return null;
    }
    var address = parseIPLiteral(ip);
    if (address === null) return false;
    var parts = prefix.split("/");
    if (parts.length !== 2 || !/^[0-9]+$/.test(parts[1])) return false;
    var network = parseIPLiteral(parts[0]);
    if (network === null) return false;
    var bits = parseInt(parts[1], 10);
    if (bits > network.bytes.length * 8) return false;
    if (!network.v6) bits += 96;
    var a = mapped(address);
    var n = mapped(network);
    for (var i = 0; i < 16 && bits > 0; i++, bits -= 8) {
      var mask = bits >= 8 ? 255 : (255 << (8 - bits)) & 255;
      if ((a[i] & mask) !== (n[i] & mask)) return false;
    }
    return true;
  };

  global.isResolvableEx = function (host) {
    var list = global.dnsResolveEx(host);
    return list !== "" && list !== null;
  };

  // -- the Netscape helpers -------------------------------------------------------------------

  global.dnsDomainIs = function (host, domain) {
    return host.length >= domain.length &&
        host.substring(host.length - domain.length) == domain;
  };

  global.dnsDomainLevels = function (host) {
    return host.split(".").length - 1;
  };

  function isDottedQuad(text) {
    var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
    return m !== null && m[1] <= 255 && m[2] <= 255 && m[3] <= 255 && m[4] <= 255;
  }

  function quadValue(text) {
    var p = text.split(".");
    return ((p[0] & 255) << 24) | ((p[1] & 255) << 16) | ((p[2] & 255) << 8) | (p[3] & 255);
  }

  global.isInNet = function (host, pattern, mask) {
    if (!isDottedQuad(pattern) || !isDottedQuad(mask)) return false;
    if (!isDottedQuad(host)) {
      host = global.dnsResolve(host);
      if (host == null) return false;
    }
    var m = quadValue(mask);
    return (quadValue(host) & m) == (quadValue(pattern) & m);
  };

  global.isResolvable = function (host) {
    return global.dnsResolve(host) != null;
  };

  global.localHostOrDomainIs = function (host, hostdom) {
    return host == hostdom || hostdom.lastIndexOf(host + ".", 0) == 0;
  };

  global.shExpMatch = function (text, pattern) {
    var source = pattern.replace(/\./g, "\\.").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp("^" + source + "$").test(text);
  };

  var DAYS = {SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6};
  var MONTHS = {JAN: 0, FEB: 1, MAR: 2, APR: 3, MAY: 4, JUN: 5, JUL: 6, AUG: 7, SEP: 8,
                OCT: 9, NOV: 10, DEC: 11};

  function inRange(low, value, high) {
    // A range whose start is after its end wraps around (e.g. SAT..WED, SEP..APR).
    return low <= high ? (low <= value && value <= high) : (high >= value || value >= low);
  }

  function utcAsLocal(date) {
    date.setFullYear(date.getUTCFullYear());
    date.setMonth(date.getUTCMonth());
    date.setDate(date.getUTCDate());
    date.setHours(date.getUTCHours());
    date.setMinutes(date.getUTCMinutes());
    date.setSeconds(date.getUTCSeconds());
    return date;
  }

  global.weekdayRange = function () {
    var now = new Date();
    var argc = arguments.length;
    if (argc < 1) return false;
    var today;
    if (arguments[argc - 1] == "GMT") {
      argc--;
      today = now.getUTCDay();
    } else {
      today = now.getDay();
    }
    var first = arguments[0] in DAYS ? DAYS[arguments[0]] : -1;
    var last = argc == 2 ? (arguments[1] in DAYS ? DAYS[arguments[1]] : -1) : first;
    if (first == -1 || last == -1) return false;
    return inRange(first, today, last);
  };

  global.dateRange = function () {
    var now = new Date();
    var argc = arguments.length;
    if (argc < 1) return false;
    var gmt = arguments[argc - 1] == "GMT";
    if (gmt) argc--;
    function month(name) { return name in MONTHS ? MONTHS[name] : -1; }
    if (argc == 1) {
      var only = parseInt(arguments[0]);
      if (isNaN(only)) return (gmt ? now.getUTCMonth() : now.getMonth()) == month(arguments[0]);
      if (only < 32) return (gmt ? now.getUTCDate() : now.getDate()) == only;
      return (gmt ? now.getUTCFullYear() : now.getFullYear()) == only;
    }
    var year = now.getFullYear();
    var start = new Date(year, 0, 1, 0, 0, 0);
    var end = new Date(year, 11, 31, 23, 59, 59);
    var sameMonth = false;
    var half = argc >> 1;
    for (var i = 0; i < argc; i++) {
      var target = i < half ? start : end;
      var value = parseInt(arguments[i]);
      if (isNaN(value)) {
        target.setMonth(month(arguments[i]));
      } else if (value < 32) {
        if (i < half) sameMonth = argc <= 2;
        target.setDate(value);
      } else {
        target.setFullYear(value);
      }
    }
    if (sameMonth) {
      start.setMonth(now.getMonth());
      end.setMonth(now.getMonth());
    }
    if (gmt) now = utcAsLocal(now);
    return inRange(start, now, end);
  };

  global.timeRange = function () {
    var argc = arguments.length;
    var now = new Date();
    var gmt = false;
    if (argc < 1) return false;
    if (arguments[argc - 1] == "GMT") {
      gmt = true;
      argc--;
    }
    var hour = gmt ? now.getUTCHours() : now.getHours();
    var start = new Date();
    var end = new Date();
    if (argc == 1) return hour == arguments[0];
    if (argc == 2) return arguments[0] <= hour && hour <= arguments[1];
    if (argc == 6) {
      start.setSeconds(arguments[2]);
      end.setSeconds(arguments[5]);
    } else if (argc != 4) {
      throw "timeRange: bad number of arguments";
    }
    var middle = argc >> 1;
    start.setHours(arguments[0]);
    start.setMinutes(arguments[1]);
    end.setHours(arguments[middle]);
    end.setMinutes(arguments[middle + 1]);
    if (middle == 2) end.setSeconds(59);
    if (gmt) now = utcAsLocal(now);
    return inRange(start, now, end);
  };
})(this);

function __wsFind(url, host) {
  var find;
  try {
    find = this.FindProxyForURL;
  } catch (e) {
    if (e === __ws.ABANDON) throw e;
    return {error: "Uncaught " + String(e), extra: "Accessing FindProxyForURL threw an exception."};
  }
  if (typeof find !== "function") {
    return {error: "FindProxyForURL is undefined or not a function."};
  }
  var result;
  try {
    result = find(url, host);
  } catch (e2) {
    if (__ws.abandoned) throw __ws.ABANDON;
    var where = e2 && e2.stack ? e2.stack : "";
    return {error: "Uncaught " + String(e2), stack: where};
  }
  if (__ws.abandoned) throw __ws.ABANDON;
  if (typeof result !== "string") {
    return {error: "FindProxyForURL() did not return a string."};
  }
  return {result: result};
}
