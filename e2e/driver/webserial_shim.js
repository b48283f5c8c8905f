// trustforge Web Serial shim.
//
// Replaces navigator.serial, before any page script runs, with an
// implementation of the Web Serial API (https://wicg.github.io/serial/) whose
// ports carry their bytes to a host outside the page: the Go test process or
// a production line's rig, through an async function the host exposes on
// window (chromedp.ExposeFunc). No real port is ever reached.
//
// It follows the specification where a page can tell: requestPort needs
// transient user activation and validates its filters; open validates its
// options and refuses an open port; readable is a byte ReadableStream and
// writable a WritableStream, each with the lock rules of the Streams
// standard, so close() fails while a reader or writer holds them; a
// disconnect errors both streams with a NetworkError, sets readable and
// writable to null and fires "disconnect" at the port, bubbling to
// navigator.serial; getInfo, getSignals, setSignals and forget behave as
// specified.
//
// It is called as (config, kit) => void, kit being what shimkit.js
// returns for the same config (WebSerialShim in Go is the two together, a
// function of config alone), with
//
//   config = {
//     host: "name of the window function the host exposes",
//     ports: [{id, usbVendorId?, usbProductId?, bluetoothServiceClassId?,
//              granted: bool, connected: bool}],
//     chooser: "first" | "cancel" | "hang" | <port id>,
//   }
//
// and calls host(request) with requests {op, port, session, ...}:
//
//   {op: "open", baudRate, dataBits, stopBits, parity, flowControl, bufferSize}
//   {op: "read"}             resolves {data: base64} (possibly empty) or {closed: true}
//   {op: "write", data}      data in base64; resolves when the host has the bytes
//   {op: "close"}
//   {op: "signals", signals}
//
// The host drives the shim through window.__tfSerialShim: plug(id),
// unplug(id), addPort(port), setChooser(mode) and stats().
(function (config, kit) {
  "use strict";
  if (window.__tfSerialShim) {
    return;
  }
  const { host, toBase64, fromBase64, handlerAttribute, hotplug } = kit;
  const constructorKey = kit.key;
  const lost = () => new DOMException("The device has been lost.", "NetworkError");

  // A bubbling event fired at a port reaches navigator.serial with the
  // port as its target, as the specification's "fire an event named
  // connect/disconnect at port with its bubbles attribute initialized to
  // true" does.
  const fire = (type, port) => {
    port.dispatchEvent(new Event(type, { bubbles: true }));
    const ev = new Event(type, { bubbles: true });
    Object.defineProperty(ev, "target", { value: port });
    Object.defineProperty(ev, "srcElement", { value: port });
    serial.dispatchEvent(ev);
  };

  let sessions = 0;
  const stats = { opens: 0, closes: 0, bytesRead: 0, bytesWritten: 0, reads: 0, writes: 0 };

  class ShimSerialPort extends EventTarget {
    #desc;
    #state = "closed"; // closed, opening, opened, closing, forgotten
    #session = 0;
    #bufferSize = 255;
    #readable = null;
    #writable = null;
    #readFatal = false;
    #writeFatal = false;
    #readController = null;
    #writeController = null;

    constructor(desc, key) {
      if (key !== constructorKey) {
        throw new TypeError("Illegal constructor");
      }
      super();
      this.#desc = desc;
      handlerAttribute(this, "connect");
      handlerAttribute(this, "disconnect");
    }

    get connected() {
      return !!this.#desc.connected;
    }

    getInfo() {
      const info = {};
      if (this.#desc.usbVendorId !== undefined) {
        info.usbVendorId = this.#desc.usbVendorId;
        info.usbProductId = this.#desc.usbProductId;
      }
      if (this.#desc.bluetoothServiceClassId !== undefined) {
        info.bluetoothServiceClassId = this.#desc.bluetoothServiceClassId;
      }
      return info;
    }

    async open(options) {
      if (this.#state === "forgotten") {
        throw new DOMException("The port has been forgotten.", "InvalidStateError");
      }
      if (this.#state !== "closed") {
        throw new DOMException("The port is already open.", "InvalidStateError");
      }
      if (options === undefined || options === null || typeof options !== "object") {
        throw new TypeError("Failed to execute 'open' on 'SerialPort': 1 argument required.");
      }
      const baudRate = Number(options.baudRate);
      if (options.baudRate === undefined) {
        throw new TypeError("Failed to read the 'baudRate' property from 'SerialOptions': Required member is undefined.");
      }
      if (!Number.isFinite(baudRate) || baudRate <= 0 || Math.floor(baudRate) !== baudRate) {
        throw new TypeError("Requested baud rate must be greater than zero.");
      }
      const dataBits = options.dataBits === undefined ? 8 : options.dataBits;
      if (dataBits !== 7 && dataBits !== 8) {
        throw new TypeError("Requested number of data bits must be 7 or 8.");
      }
      const stopBits = options.stopBits === undefined ? 1 : options.stopBits;
      if (stopBits !== 1 && stopBits !== 2) {
        throw new TypeError("Requested number of stop bits must be 1 or 2.");
      }
      const parity = options.parity === undefined ? "none" : options.parity;
      if (!["none", "even", "odd"].includes(parity)) {
        throw new TypeError("The provided value '" + parity + "' is not a valid enum value of type ParityType.");
      }
      const flowControl = options.flowControl === undefined ? "none" : options.flowControl;
      if (!["none", "hardware"].includes(flowControl)) {
        throw new TypeError("The provided value '" + flowControl + "' is not a valid enum value of type FlowControlType.");
      }
      const bufferSize = options.bufferSize === undefined ? 255 : options.bufferSize;
      if (!Number.isInteger(bufferSize) || bufferSize <= 0) {
        throw new TypeError("Requested buffer size must be greater than zero.");
      }
      if (bufferSize > 16 * 1024 * 1024) {
        throw new TypeError("Requested buffer size (" + bufferSize + " bytes) is greater than the maximum allowed (16777216 bytes).");
      }
      if (!this.#desc.connected) {
        throw new DOMException("Failed to open serial port.", "NetworkError");
      }
      this.#state = "opening";
      const session = ++sessions;
      try {
        await host({ op: "open", port: this.#desc.id, session, baudRate, dataBits, stopBits, parity, flowControl, bufferSize });
      } catch (e) {
        this.#state = "closed";
        throw new DOMException("Failed to open serial port.", "NetworkError");
      }
      if (this.#state !== "opening") {
        // Unplugged or forgotten while opening.
        host({ op: "close", port: this.#desc.id, session }).catch(() => {});
        throw new DOMException("Failed to open serial port.", "NetworkError");
      }
      this.#session = session;
      this.#bufferSize = bufferSize;
      this.#readFatal = false;
      this.#writeFatal = false;
      this.#state = "opened";
      stats.opens++;
    }

    get readable() {
      if (this.#readable !== null) {
        return this.#readable;
      }
      if (this.#state !== "opened" || this.#readFatal) {
        return null;
      }
      const port = this;
      const id = this.#desc.id;
      const session = this.#session;
      let stream = null;
      const source = {
        type: "bytes",
        start(controller) {
          port.#readController = controller;
        },
        pull(controller) {
          return host({ op: "read", port: id, session }).then(
            (r) => {
              if (port.#readable !== stream) {
                return; // cancelled or errored meanwhile
              }
              if (r && r.closed) {
                port.#readFatal = true;
                port.#readable = null;
                controller.error(lost());
                return;
              }
              const bytes = r && r.data ? fromBase64(r.data) : new Uint8Array(0);
              if (bytes.length > 0) {
                stats.reads++;
                stats.bytesRead += bytes.length;
                controller.enqueue(bytes);
              } else {
                // Nothing yet: ask again.
                return source.pull(controller);
              }
            },
            (e) => {
              if (port.#readable === stream) {
                port.#readFatal = true;
                port.#readable = null;
                controller.error(lost());
              }
            },
          );
        },
        cancel() {
          if (port.#readable === stream) {
            port.#readable = null;
          }
          port.#readController = null;
        },
      };
      stream = new ReadableStream(source, { highWaterMark: this.#bufferSize });
      this.#readable = stream;
      return stream;
    }

    get writable() {
      if (this.#writable !== null) {
        return this.#writable;
      }
      if (this.#state !== "opened" || this.#writeFatal) {
        return null;
      }
      const port = this;
      const id = this.#desc.id;
      const session = this.#session;
      let stream = null;
      stream = new WritableStream(
        {
          start(controller) {
            port.#writeController = controller;
          },
          write(chunk) {
            let bytes;
            if (chunk instanceof ArrayBuffer) {
              bytes = new Uint8Array(chunk.slice(0));
            } else if (ArrayBuffer.isView(chunk)) {
              bytes = new Uint8Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
            } else {
              return Promise.reject(new TypeError("Failed to execute 'write': the provided value is not of type '(ArrayBuffer or ArrayBufferView)'."));
            }
            if (port.#writable !== stream) {
              return Promise.reject(lost());
            }
            stats.writes++;
            stats.bytesWritten += bytes.length;
            return host({ op: "write", port: id, session, data: toBase64(bytes) }).catch(() => {
              throw lost();
            });
          },
          close() {
            if (port.#writable === stream) {
              port.#writable = null;
            }
            port.#writeController = null;
          },
          abort() {
            if (port.#writable === stream) {
              port.#writable = null;
            }
            port.#writeController = null;
          },
        },
        new ByteLengthQueuingStrategy({ highWaterMark: this.#bufferSize }),
      );
      this.#writable = stream;
      return stream;
    }

    async getSignals() {
      if (this.#state !== "opened") {
        throw new DOMException("The port is closed.", "InvalidStateError");
      }
      return { dataCarrierDetect: false, clearToSend: true, ringIndicator: false, dataSetReady: true };
    }

    async setSignals(signals) {
      if (this.#state !== "opened") {
        throw new DOMException("The port is closed.", "InvalidStateError");
      }
      signals = signals || {};
      const known = ["dataTerminalReady", "requestToSend", "break"];
      if (!known.some((k) => signals[k] !== undefined)) {
        throw new TypeError("Signals dictionary must contain at least one member.");
      }
      const out = {};
      for (const k of known) {
        if (signals[k] !== undefined) {
          out[k] = !!signals[k];
        }
      }
      await host({ op: "signals", port: this.#desc.id, session: this.#session, signals: out });
    }

    close() {
      if (this.#state !== "opened") {
        return Promise.reject(new DOMException("The port is already closed.", "InvalidStateError"));
      }
      // The Streams standard refuses to cancel a locked readable or close a
      // locked writable, so close() fails while a reader or writer holds
      // them: release them first.
      const cancelled = this.#readable === null ? Promise.resolve() : this.#readable.cancel();
      const closed = this.#writable === null ? Promise.resolve() : this.#writable.close();
      this.#state = "closing";
      const session = this.#session;
      return Promise.all([cancelled, closed]).then(
        () => {
          this.#state = "closed";
          this.#readFatal = false;
          this.#writeFatal = false;
          this.#readable = null;
          this.#writable = null;
          stats.closes++;
          return host({ op: "close", port: this.#desc.id, session }).catch(() => {});
        },
        (r) => {
          this.#state = "opened";
          throw r;
        },
      ).then(() => undefined);
    }

    async forget() {
      if (this.#state === "opened") {
        if (this.#readable !== null) {
          this.#readable.cancel().catch(() => {});
        }
        if (this.#writable !== null) {
          this.#writable.abort().catch(() => {});
        }
        host({ op: "close", port: this.#desc.id, session: this.#session }).catch(() => {});
      }
      this.#readable = null;
      this.#writable = null;
      this.#state = "forgotten";
      this.#desc.granted = false;
    }

    // The device went away: error the streams, close the port on the host.
    _lost() {
      this.#desc.connected = false;
      if (this.#state === "opened" || this.#state === "opening" || this.#state === "closing") {
        const session = this.#session;
        this.#readFatal = true;
        this.#writeFatal = true;
        if (this.#readable !== null && this.#readController !== null) {
          try {
            this.#readController.error(lost());
          } catch (e) {}
        }
        if (this.#writable !== null && this.#writeController !== null) {
          try {
            this.#writeController.error(lost());
          } catch (e) {}
        }
        this.#readable = null;
        this.#writable = null;
        this.#readController = null;
        this.#writeController = null;
        if (this.#state === "opening") {
          this.#state = "closed";
        }
        host({ op: "close", port: this.#desc.id, session }).catch(() => {});
      }
    }

    _plugged() {
      this.#desc.connected = true;
      if (this.#state === "forgotten") {
        return;
      }
      // After a disconnect the page must still close() the port before it
      // opens it again, as with a real port.
    }

    get _desc() {
      return this.#desc;
    }
  }
  class ShimSerial extends kit.DeviceAPI {
    async getPorts() {
      return this._granted();
    }

    requestPort(options) {
      options = options || {};
      const filters = options.filters;
      if (filters !== undefined) {
        if (!Array.isArray(filters)) {
          return Promise.reject(new TypeError("Failed to execute 'requestPort' on 'Serial': The provided value cannot be converted to a sequence."));
        }
        for (const f of filters) {
          const usb = f.usbVendorId !== undefined || f.usbProductId !== undefined;
          const bt = f.bluetoothServiceClassId !== undefined;
          if (!usb && !bt) {
            return Promise.reject(new TypeError("Failed to execute 'requestPort' on 'Serial': A filter must provide a property to filter by."));
          }
          if (f.usbProductId !== undefined && f.usbVendorId === undefined) {
            return Promise.reject(new TypeError("Failed to execute 'requestPort' on 'Serial': A filter containing a usbProductId must also specify a usbVendorId."));
          }
        }
      }
      if (!navigator.userActivation || !navigator.userActivation.isActive) {
        return Promise.reject(new DOMException("Failed to execute 'requestPort' on 'Serial': Must be handling a user gesture to show a permission request.", "SecurityError"));
      }
      const matches = (p) => {
        if (!p._desc.connected) {
          return false;
        }
        if (filters === undefined || filters.length === 0) {
          return true;
        }
        const d = p._desc;
        return filters.some((f) => {
          if (f.bluetoothServiceClassId !== undefined) {
            return d.bluetoothServiceClassId === f.bluetoothServiceClassId;
          }
          if (d.usbVendorId !== f.usbVendorId) {
            return false;
          }
          return f.usbProductId === undefined || d.usbProductId === f.usbProductId;
        });
      };
      if (chooser === "hang") {
        return new Promise(() => {}); // as headless Chromium's chooser
      }
      if (chooser === "cancel") {
        return Promise.reject(new DOMException("Failed to execute 'requestPort' on 'Serial': No port selected by the user.", "NotFoundError"));
      }
      const candidates = ports.filter(matches);
      const pick = chooser === "first" ? candidates[0] : candidates.find((p) => p._desc.id === chooser);
      if (!pick) {
        return Promise.reject(new DOMException("Failed to execute 'requestPort' on 'Serial': No port selected by the user.", "NotFoundError"));
      }
      pick._desc.granted = true;
      return Promise.resolve(pick);
    }
  }

  let chooser = config.chooser || "first";
  const ports = [];
  const serial = new ShimSerial(constructorKey, ports);
  const addPort = (d) => {
    const desc = Object.assign({ granted: false, connected: true }, d);
    const existing = ports.find((p) => p._desc.id === desc.id);
    if (existing) {
      return existing;
    }
    const p = new ShimSerialPort(desc, constructorKey);
    ports.push(p);
    return p;
  };
  for (const d of config.ports || []) {
    addPort(d);
  }

  Object.defineProperty(Navigator.prototype, "serial", {
    get: () => serial,
    configurable: true,
    enumerable: true,
  });
  Object.defineProperty(window, "Serial", { value: ShimSerial, configurable: true, writable: true });
  Object.defineProperty(window, "SerialPort", { value: ShimSerialPort, configurable: true, writable: true });

  Object.defineProperty(window, "__tfSerialShim", {
    value: Object.freeze({
      addPort: (d) => {
        const p = addPort(d);
        if (p._desc.granted && p._desc.connected) {
          fire("connect", p);
        }
      },
      ...hotplug(ports, (p) => p._plugged(), fire),
      setChooser: (mode) => {
        chooser = mode;
        return true;
      },
      stats: () => Object.assign({}, stats),
    }),
  });
})
