// trustforge device-shim kit: what the Web Serial and WebUSB shims share.
//
// It is called as (config) => kit with the shim's config, before the shim
// itself, which is then called as (config, kit). The kit holds:
//
//   host(request)      calls the function the host exposes on window
//                      (config.host), or rejects with a NetworkError when
//                      there is none;
//   toBase64(bytes), fromBase64(text)
//                      the byte encoding of the host's requests and answers;
//   handlerAttribute(obj, type)
//                      an event handler attribute ("on" + type) on an
//                      EventTarget, as HTML defines them;
//   key               the constructor key of the shims' classes: pages
//                      cannot construct them, as with the real ones;
//   DeviceAPI         the base class of the navigator object (Serial,
//                      USB): an EventTarget with onconnect and
//                      ondisconnect, made as new X(key, list), whose
//                      _granted() lists the entries of list the page was
//                      granted and that are plugged in;
//   hotplug(list, plugged, fire)
//                      the plug(id) and unplug(id) controls over a shim's
//                      ports or devices (each with _desc {id, granted,
//                      connected} and _lost()): plug calls plugged(d),
//                      unplug d._lost(), and each fires "connect" or
//                      "disconnect" through fire(type, d) when the page was
//                      granted d; both answer whether anything changed.
(function (config) {
  "use strict";
  const host = (request) => {
    const fn = window[config.host];
    if (typeof fn !== "function") {
      return Promise.reject(new DOMException("The shim's host is not reachable.", "NetworkError"));
    }
    return fn(request);
  };

  const toBase64 = (bytes) => {
    if (typeof bytes.toBase64 === "function") {
      return bytes.toBase64();
    }
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  };
  const fromBase64 = (text) => {
    if (typeof Uint8Array.fromBase64 === "function") {
      return Uint8Array.fromBase64(text);
    }
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      out[i] = s.charCodeAt(i);
    }
    return out;
  };

  // As in HTML, the handler's listener joins the list when a handler is
  // first set, and leaves it when the attribute is set to null.
  const handlerAttribute = (obj, type) => {
    let current = null;
    const listener = (ev) => current.call(obj, ev);
    Object.defineProperty(obj, "on" + type, {
      get: () => current,
      set: (v) => {
        const fn = typeof v === "function" ? v : null;
        if (fn && !current) {
          obj.addEventListener(type, listener);
        } else if (!fn && current) {
          obj.removeEventListener(type, listener);
        }
        current = fn;
      },
      enumerable: true,
    });
  };

  const key = {};
  class DeviceAPI extends EventTarget {
    #list;
    constructor(k, list) {
      if (k !== key) {
        throw new TypeError("Illegal constructor");
      }
      super();
      this.#list = list;
      handlerAttribute(this, "connect");
      handlerAttribute(this, "disconnect");
    }

    _granted() {
      return this.#list.filter((d) => d._desc.granted && d._desc.connected);
    }
  }

  const hotplug = (list, plugged, fire) => {
    const change = (id, connected, apply, type) => {
      const d = list.find((x) => x._desc.id === id);
      if (!d || d._desc.connected === connected) {
        return false;
      }
      apply(d);
      if (d._desc.granted) {
        fire(type, d);
      }
      return true;
    };
    return {
      plug: (id) => change(id, true, plugged, "connect"),
      unplug: (id) => change(id, false, (d) => d._lost(), "disconnect"),
    };
  };

  return Object.freeze({ host, toBase64, fromBase64, handlerAttribute, key, DeviceAPI, hotplug });
})
