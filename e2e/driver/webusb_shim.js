// trustforge WebUSB shim.
//
// Replaces navigator.usb, before any page script runs, with an
// implementation of the WebUSB API (https://wicg.github.io/webusb/) whose
// devices each have one configuration with a vendor-specific interface
// (class 0xff) and a bulk endpoint pair: bulk OUT transfers carry bytes to a
// host outside the page, bulk IN transfers bring its bytes back, as a board
// exposing SMP on a vendor bulk interface does. No real device is reached.
//
// It follows the specification where a page can tell: requestDevice needs
// transient user activation and validates its filters; a device must be
// opened, configured and its interface claimed before transfers, which check
// their endpoint and direction; claiming a claimed interface or closing a
// device with pending transfers behaves as specified; an unplugged device
// rejects its pending and later transfers with a NotFoundError, fires
// "disconnect" (a USBConnectionEvent) at navigator.usb and is closed.
//
// It is called as (config, kit) => void, kit being what shimkit.js
// returns for the same config (WebUSBShim in Go is the two together), with
//
//   config = {
//     host: "name of the window function the host exposes",
//     devices: [{id, vendorId, productId, productName?, manufacturerName?,
//                serialNumber?, granted: bool}],
//     chooser: "first" | "cancel" | "hang" | <device id>,
//   }
//
// and calls host(request) as the Web Serial shim does: {op: "open" | "read"
// | "write" | "close", port: device id, session, max?, data?}. The host
// drives it through window.__tfUSBShim: plug(id), unplug(id),
// setChooser(mode), enumerate(id, usb, enum).
//
// A device with a "usb" member is described by it instead: {deviceClass,
// configurations: [{configurationValue, configurationName, interfaces:
// [{interfaceNumber, alternates: [{alternateSetting, interfaceClass,
// interfaceSubclass, interfaceProtocol, interfaceName, endpoints: [...]}]}]}]}
// and its control transfers, alternate-setting selections and resets go
// to the host ({op: "control", port, enum, direction, setup, length?,
// data?} answered {status, data?} or {closed}; {op: "setalt", port, enum,
// iface, alt}; {op: "reset", port, enum}), so a simulated USB DFU device
// answers them. enum numbers the device's enumerations: a device that
// re-enumerates (enumerate(id, usb, enum)) disconnects, and a new
// USBDevice with the new descriptors connects, as a real one does after
// a DFU detach or a reset.
(function (config, kit) {
  "use strict";
  if (window.__tfUSBShim) {
    return;
  }
  const { host, toBase64, fromBase64, hotplug } = kit;
  const bytesOf = (data) => {
    if (data instanceof ArrayBuffer) {
      return new Uint8Array(data.slice(0));
    }
    if (ArrayBuffer.isView(data)) {
      return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    }
    throw new TypeError("The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.");
  };
  const gone = () => new DOMException("The device was disconnected.", "NotFoundError");
  const notOpen = () => new DOMException("The device must be opened first.", "InvalidStateError");

  const constructorKey = kit.key;
  let sessions = 0;

  // The one interface of every shim device without a "usb" description.
  const IN = 1, OUT = 2, PACKET = 64;
  const makeConfiguration = (desc) => {
    if (desc.usb) {
      const c = desc.usb.configurations[0];
      const interfaces = c.interfaces.map((it) => {
        const alternates = Object.freeze(it.alternates.map((a) => Object.freeze(Object.assign({}, a, {
          interfaceName: a.interfaceName || null,
          endpoints: Object.freeze((a.endpoints || []).map((e) => Object.freeze(Object.assign({}, e)))),
        }))));
        return { interfaceNumber: it.interfaceNumber, alternate: alternates[0], alternates, claimed: false };
      });
      return { configurationValue: c.configurationValue, configurationName: c.configurationName || null, interfaces: Object.freeze(interfaces) };
    }
    const endpoints = [
      Object.freeze({ endpointNumber: IN, direction: "in", type: "bulk", packetSize: PACKET }),
      Object.freeze({ endpointNumber: OUT, direction: "out", type: "bulk", packetSize: PACKET }),
    ];
    const alternate = Object.freeze({
      alternateSetting: 0, interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0,
      interfaceName: "SMP", endpoints: Object.freeze(endpoints),
    });
    const iface = { interfaceNumber: 0, alternate, alternates: Object.freeze([alternate]), claimed: false };
    return { configurationValue: 1, configurationName: "trustforge", interfaces: Object.freeze([iface]) };
  };

  class ShimUSBDevice {
    #desc;
    #opened = false;
    #configuration = null;
    #config;
    #session = 0;
    #pending = new Set(); // rejecters of pending transfers

    constructor(desc, key) {
      if (key !== constructorKey) {
        throw new TypeError("Illegal constructor");
      }
      this.#desc = desc;
      this.#config = makeConfiguration(desc);
    }

    get vendorId() { return this.#desc.vendorId; }
    get productId() { return this.#desc.productId; }
    get deviceClass() { return (this.#desc.usb && this.#desc.usb.deviceClass) || 0; }
    get deviceSubclass() { return 0; }
    get deviceProtocol() { return 0; }
    get deviceVersionMajor() { return 1; }
    get deviceVersionMinor() { return 0; }
    get deviceVersionSubminor() { return 0; }
    get usbVersionMajor() { return 2; }
    get usbVersionMinor() { return 0; }
    get usbVersionSubminor() { return 0; }
    get manufacturerName() { return this.#desc.manufacturerName || null; }
    get productName() { return this.#desc.productName || null; }
    get serialNumber() { return this.#desc.serialNumber || null; }
    get opened() { return this.#opened; }
    get configuration() { return this.#configuration; }
    get configurations() { return [this.#config]; }

    #alive() {
      if (!this.#desc.connected) {
        throw gone();
      }
    }

    async open() {
      this.#alive();
      this.#opened = true;
    }

    async close() {
      this.#alive();
      if (!this.#opened) {
        return;
      }
      this.#abortPending(new DOMException("The transfer was cancelled.", "AbortError"));
      this.#release();
      this.#opened = false;
    }

    async forget() {
      if (this.#opened && this.#desc.connected) {
        await this.close();
      }
      this.#desc.granted = false;
    }

    async selectConfiguration(value) {
      this.#alive();
      if (!this.#opened) {
        throw notOpen();
      }
      if (value !== this.#config.configurationValue) {
        throw new DOMException("The configuration value provided is not supported by the device.", "NotFoundError");
      }
      this.#configuration = this.#config;
    }

    #interface(number) {
      if (!this.#opened) {
        throw notOpen();
      }
      if (this.#configuration === null) {
        throw new DOMException("The device must have a configuration selected.", "InvalidStateError");
      }
      const iface = this.#configuration.interfaces.find((i) => i.interfaceNumber === number);
      if (!iface) {
        throw new DOMException("The interface number provided is not supported by the device in its current configuration.", "NotFoundError");
      }
      return iface;
    }

    async claimInterface(number) {
      this.#alive();
      const iface = this.#interface(number);
      if (iface.claimed) {
        return;
      }
      if (this.#desc.usb && !iface.alternates.some((a) => a.endpoints.length > 0)) {
        iface.claimed = true; // a control-only interface (DFU): no bulk session
        return;
      }
      const session = ++sessions;
      try {
        await host({ op: "open", port: this.#desc.id, session });
      } catch (e) {
        throw new DOMException("Unable to claim interface.", "NetworkError");
      }
      this.#session = session;
      iface.claimed = true;
    }

    async releaseInterface(number) {
      this.#alive();
      const iface = this.#interface(number);
      this.#abortPending(new DOMException("The transfer was cancelled.", "AbortError"));
      if (iface.claimed) {
        this.#release();
      }
    }

    #release() {
      for (const iface of this.#config.interfaces) {
        if (iface.claimed) {
          iface.claimed = false;
          if (!this.#desc.usb || iface.alternates.some((a) => a.endpoints.length > 0)) {
            host({ op: "close", port: this.#desc.id, session: this.#session }).catch(() => {});
          }
        }
      }
    }

    async selectAlternateInterface(number, alternate) {
      this.#alive();
      const iface = this.#interface(number);
      if (!iface.claimed) {
        throw new DOMException("The interface must be claimed first.", "InvalidStateError");
      }
      const alt = iface.alternates.find((a) => a.alternateSetting === alternate);
      if (!alt) {
        throw new DOMException("The alternate setting provided is not supported by the device.", "NotFoundError");
      }
      if (this.#desc.usb) {
        const r = await this.#track(host({ op: "setalt", port: this.#desc.id, enum: this.#desc.enum, iface: number, alt: alternate }));
        if (r && r.closed) {
          throw gone();
        }
        if (r && r.status === "stall") {
          throw new DOMException("Unable to set device interface.", "NetworkError");
        }
      }
      iface.alternate = alt;
    }

    #endpoint(number, direction) {
      if (!this.#opened) {
        throw notOpen();
      }
      const iface = this.#configuration && this.#configuration.interfaces.find((i) =>
        i.alternate.endpoints.some((e) => e.endpointNumber === number && e.direction === direction));
      if (!iface) {
        throw new DOMException("The specified endpoint number is out of range.", "IndexSizeError");
      }
      if (!iface.claimed) {
        throw new DOMException("The specified endpoint is not part of a claimed and selected alternate interface.", "InvalidStateError");
      }
    }

    // pending tracks a transfer so an unplug or a release can end it.
    #track(promise) {
      let reject;
      const stop = new Promise((_, r) => { reject = r; });
      this.#pending.add(reject);
      return Promise.race([promise, stop]).finally(() => this.#pending.delete(reject));
    }

    #abortPending(reason) {
      for (const reject of this.#pending) {
        reject(reason);
      }
      this.#pending.clear();
    }

    async transferIn(endpoint, length) {
      this.#alive();
      this.#endpoint(endpoint, "in");
      if (!Number.isInteger(length) || length < 0) {
        throw new TypeError("The length must be a non-negative integer.");
      }
      const id = this.#desc.id, session = this.#session;
      const read = async () => {
        for (;;) {
          const r = await host({ op: "read", port: id, session, max: length });
          if (r && r.closed) {
            throw gone();
          }
          if (r && r.data) {
            const bytes = fromBase64(r.data);
            return new USBInTransferResultShim("ok", new DataView(bytes.buffer));
          }
        }
      };
      return this.#track(read());
    }

    async transferOut(endpoint, data) {
      this.#alive();
      this.#endpoint(endpoint, "out");
      const bytes = bytesOf(data);
      const write = host({ op: "write", port: this.#desc.id, session: this.#session, data: toBase64(bytes) })
        .then(() => new USBOutTransferResultShim("ok", bytes.length), () => { throw gone(); });
      return this.#track(write);
    }

    // #checkSetup validates a control transfer's setup as WebUSB does: a
    // request to an interface or endpoint needs it claimed.
    #checkSetup(setup) {
      if (!setup || !["standard", "class", "vendor"].includes(setup.requestType) ||
          !["device", "interface", "endpoint", "other"].includes(setup.recipient)) {
        throw new TypeError("Failed to read the 'requestType' or 'recipient' property from 'USBControlTransferParameters'.");
      }
      if (setup.recipient === "interface") {
        const iface = this.#configuration && this.#configuration.interfaces.find((i) => i.interfaceNumber === (setup.index & 0xff));
        if (!iface) {
          throw new DOMException("The interface number provided is not supported by the device in its current configuration.", "NotFoundError");
        }
        if (!iface.claimed) {
          throw new DOMException("The specified interface has not been claimed.", "InvalidStateError");
        }
      }
    }

    async #control(direction, setup, length, data) {
      const r = await this.#track(host({
        op: "control", port: this.#desc.id, enum: this.#desc.enum, direction,
        setup: { requestType: setup.requestType, recipient: setup.recipient, request: setup.request, value: setup.value, index: setup.index },
        length, data: data ? toBase64(data) : undefined,
      }).catch(() => ({ closed: true })));
      if (r && r.closed) {
        throw gone();
      }
      return r || {};
    }

    async controlTransferIn(setup, length) {
      this.#alive();
      if (!this.#opened) {
        throw notOpen();
      }
      if (this.#desc.usb) {
        this.#checkSetup(setup);
        const r = await this.#control("in", setup, length);
        if (r.status === "stall") {
          return new USBInTransferResultShim("stall", null);
        }
        const bytes = r.data ? fromBase64(r.data) : new Uint8Array(0);
        return new USBInTransferResultShim(bytes.length > length ? "babble" : "ok", new DataView(bytes.buffer, 0, Math.min(bytes.length, length)));
      }
      // GET_STATUS of the device, the one standard request answered;
      // anything else stalls, as a board without vendor requests does.
      if (setup.requestType === "standard" && setup.recipient === "device" && setup.request === 0) {
        return new USBInTransferResultShim("ok", new DataView(new Uint8Array([0, 0]).buffer.slice(0, Math.min(2, length))));
      }
      return new USBInTransferResultShim("stall", null);
    }

    async controlTransferOut(setup, data) {
      this.#alive();
      if (!this.#opened) {
        throw notOpen();
      }
      if (this.#desc.usb) {
        this.#checkSetup(setup);
        const bytes = data === undefined ? new Uint8Array(0) : bytesOf(data);
        const r = await this.#control("out", setup, 0, bytes);
        if (r.status === "stall") {
          return new USBOutTransferResultShim("stall", 0);
        }
        return new USBOutTransferResultShim("ok", bytes.length);
      }
      return new USBOutTransferResultShim("stall", 0);
    }

    async clearHalt(direction, endpoint) {
      this.#alive();
      this.#endpoint(endpoint, direction);
    }

    async reset() {
      this.#alive();
      if (!this.#opened) {
        throw notOpen();
      }
      this.#abortPending(new DOMException("The transfer was cancelled.", "AbortError"));
      if (this.#desc.usb) {
        const r = await host({ op: "reset", port: this.#desc.id, enum: this.#desc.enum }).catch(() => ({ closed: true }));
        if (r && r.closed) {
          throw gone();
        }
      }
    }

    _lost() {
      this.#desc.connected = false;
      this.#abortPending(gone());
      this.#release();
      this.#opened = false;
      this.#configuration = null;
    }

    get _desc() {
      return this.#desc;
    }
  }

  class USBInTransferResultShim {
    constructor(status, data) {
      this.status = status;
      this.data = data;
    }
  }
  class USBOutTransferResultShim {
    constructor(status, bytesWritten) {
      this.status = status;
      this.bytesWritten = bytesWritten;
    }
  }

  class ShimUSB extends kit.DeviceAPI {
    async getDevices() {
      return this._granted();
    }

    requestDevice(options) {
      if (!options || !Array.isArray(options.filters)) {
        return Promise.reject(new TypeError("Failed to execute 'requestDevice' on 'USB': required member filters is undefined."));
      }
      for (const f of options.filters) {
        if (f.productId !== undefined && f.vendorId === undefined) {
          return Promise.reject(new TypeError("Failed to execute 'requestDevice' on 'USB': A filter containing a productId must also contain a vendorId."));
        }
      }
      if (!navigator.userActivation || !navigator.userActivation.isActive) {
        return Promise.reject(new DOMException("Failed to execute 'requestDevice' on 'USB': Must be handling a user gesture to show a permission request.", "SecurityError"));
      }
      if (chooser === "hang") {
        return new Promise(() => {});
      }
      const matches = (d) => d._desc.connected && (options.filters.length === 0 || options.filters.some((f) =>
        (f.vendorId === undefined || f.vendorId === d.vendorId) &&
        (f.productId === undefined || f.productId === d.productId) &&
        (f.classCode === undefined || d.configurations.some((c) => c.interfaces.some((i) =>
          i.alternates.some((a) => a.interfaceClass === f.classCode &&
            (f.subclassCode === undefined || a.interfaceSubclass === f.subclassCode) &&
            (f.protocolCode === undefined || a.interfaceProtocol === f.protocolCode))))) &&
        (f.serialNumber === undefined || f.serialNumber === d.serialNumber)));
      const candidates = devices.filter(matches);
      const pick = chooser === "cancel" ? undefined : chooser === "first" ? candidates[0] : candidates.find((d) => d._desc.id === chooser);
      if (!pick) {
        return Promise.reject(new DOMException("Failed to execute 'requestDevice' on 'USB': No device selected.", "NotFoundError"));
      }
      pick._desc.granted = true;
      return Promise.resolve(pick);
    }
  }

  const fire = (type, device) => {
    const ev = new Event(type);
    Object.defineProperty(ev, "device", { value: device, enumerable: true });
    usb.dispatchEvent(ev);
  };

  let chooser = config.chooser || "first";
  const devices = (config.devices || []).map((d) => new ShimUSBDevice(Object.assign({ granted: false, connected: true }, d), constructorKey));
  const usb = new ShimUSB(constructorKey, devices);

  Object.defineProperty(Navigator.prototype, "usb", { get: () => usb, configurable: true, enumerable: true });
  Object.defineProperty(window, "USB", { value: ShimUSB, configurable: true, writable: true });
  Object.defineProperty(window, "USBDevice", { value: ShimUSBDevice, configurable: true, writable: true });

  Object.defineProperty(window, "__tfUSBShim", {
    value: Object.freeze({
      ...hotplug(devices, (d) => { d._desc.connected = true; }, fire),
      setChooser: (mode) => {
        chooser = mode;
        return true;
      },
      // enumerate takes the device off the bus (when it is on) and, with a
      // description, brings it back as a new USBDevice: a re-enumeration.
      enumerate: (id, usb, productId, enumNo) => {
        const i = devices.findIndex((x) => x._desc.id === id);
        if (i < 0) {
          return false;
        }
        const old = devices[i];
        if (old._desc.connected) {
          old._lost();
          if (old._desc.granted) {
            fire("disconnect", old);
          }
        }
        if (!usb) {
          return true;
        }
        const desc = Object.assign({}, old._desc, { usb, productId, enum: enumNo, connected: true });
        const d = new ShimUSBDevice(desc, constructorKey);
        devices[i] = d;
        if (desc.granted) {
          fire("connect", d);
        }
        return true;
      },
    }),
  });
})
