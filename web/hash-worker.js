// trustforge: SHA digests of long inputs, off the page's thread.
//
// Chromium runs crypto.subtle.digest on the thread that calls it, and it is
// one-shot: hashing a 64 MiB image on the page froze it for a quarter of a
// second and more. The console (internal/browser's Sink) transfers the
// input here in 1 MiB pieces as it is produced (no copy), then asks for the
// digest; this worker joins the pieces as they arrive, while the page
// produces the next ones, and digests them on its own thread.
//
// It takes the SHA-256 of each input as its bytes arrive, in WebAssembly
// (below), so that asking for the digest finishes it rather than starting
// it: WebCrypto's digest is one-shot and copies its whole input first, into
// memory the system has not mapped in (250 to 400 ms for the 64 MiB image
// of a publish, and as long again for its payload). An input whose bytes
// change after they were hashed, a page without WebAssembly SIMD, or
// another algorithm, are digested by WebCrypto as before.
//
// The joined buffer is kept for the next input for a while: memory the
// system has not yet mapped in costs more to write than the copy itself
// (about 4 ms a MiB on the project's test machine, against well under
// 0.1 ms for memory written before), and a publish hashes the image, then
// the payload, of about the same size. For the same reason the pieces the
// page sends go back to it once copied (back), to carry later ones.
//
// An encrypted MCUboot payload comes here for its digest, and to a second
// instance of this script for its AES-CTR (ctr), so that the two run side
// by side; where there is no second instance yet, each piece comes here
// once for both (hashctr): it joins the input, is encrypted, and its
// buffer goes back to the page to carry the next piece.
//
// It also seals age's payload chunks (ChaCha20-Poly1305), below.
//
// Messages in:  {op: "add", id, data: ArrayBuffer, block}
//                                                     a piece of input id (take
//                                                     gives it back in pieces of block bytes)
//               {op: "digest", id, alg}               digest input id, forget it
//               {op: "take", id}                      give input id's pieces back
//               {op: "drop", id}                      forget input id
//               {op: "seal", id, key: ArrayBuffer, counter, last, data: ArrayBuffer}
//                                                     seal data as age's chunks from counter
//               {op: "ctr", id, key: ArrayBuffer, counter: ArrayBuffer, data: ArrayBuffer}
//                                                     AES-CTR (128-bit counter) with WebCrypto;
//                                                     also takes n and back, as add does
//               {op: "hashctr", id, input, block, n, key: ArrayBuffer, counter: ArrayBuffer, data: ArrayBuffer}
//                                                     add data's first n bytes to input (as add),
//                                                     then AES-CTR them as ctr does; data comes back
//               {op: "seal", id, key, counter, last, data, out: ArrayBuffer}
//                                                     as seal, the ciphertext written into out:
//                                                     the answer is {id, data: out, n}
//               {op: "seal", id, key, counter, last, data, into, at, reserve}
//                                                     as seal, the ciphertext written into input
//                                                     into from byte at (made with room for
//                                                     reserve bytes) and kept here: the answer
//                                                     is {id, n}
//               {op: "put", id, data: ArrayBuffer, at, reserve}
//                                                     write data into input id from byte at
//               {op: "add", id, data, block, reserve}  as add, into an input made with room
//                                                     for reserve bytes
//               {op: "digest", id, alg, keep: true}   digest input id and keep it
//               digest takes oneShot: true (WebCrypto digests the whole input,
//               even when it was hashed as it arrived; the tests take both ways)
//               add, put and seal also take n (the piece is data's first n bytes;
//               all of it without) and back: true (data is given back, as
//               {back: ArrayBuffer} or in the answer, once used); seal takes
//               js: true (ChaCha20 and Poly1305 in JavaScript, not WebAssembly)
//               {op: "upload", id, input, method, url, header: {k: v}, head: ArrayBuffer}
//                                                     send head then input's bytes with
//                                                     XMLHttpRequest from this thread
//               {op: "abort", id}                     abort upload id
// Messages out: {ready: true, sealer, digester}       once, at start; sealer says how seal
//                                                     works unless asked for JavaScript alone:
//                                                     "simd" (ChaCha20 in WebAssembly SIMD,
//                                                     Poly1305 in WebAssembly), "wasm"
//                                                     (Poly1305 only) or "js"; digester how
//                                                     SHA-256 is taken: "wasm" (as bytes
//                                                     arrive) or "webcrypto" (at digest)
//               {id, sum: ArrayBuffer, by}            the digest, and who took it: "wasm"
//                                                     (as the bytes arrived) or "webcrypto"
//               {id, error, parts: [ArrayBuffer]}     digest failed: the input back
//               {id, parts: [ArrayBuffer]}            answer to take
//               {id, data: ArrayBuffer} / {id, error} answer to seal and ctr
//               {progress: id, loaded, total}         an upload's progress
//               {id, status, contentType, body: ArrayBuffer} / {id, error}
//                                                     answer to upload
//               {id, data: ArrayBuffer, back: ArrayBuffer} / {id, error, back}
//                                                     answer to hashctr: back is the
//                                                     request's data, for the page to reuse
//               {back: ArrayBuffer}                   an add's or put's data, given back
"use strict";

// inputs holds each input joined: {buf: Uint8Array, n: bytes in it, block,
// sha, hashed, front, later}: sha is its SHA-256 so far (null once it
// cannot be taken as the bytes arrive), over its first hashed bytes; front
// is the end of the bytes written without a gap from the start, hashed
// once the answer to the write that brought them has gone (hashNow), so
// that the page goes on meanwhile; later holds the [start, end) of writes
// past a gap (batches sealed by other workers may arrive out of order).
const inputs = new Map();

// spares are joined buffers no input holds, the largest maxSpareBuffers
// of them (a release's image and its payload are held side by side), kept
// sparePeriod after the last use; an input that outgrows its buffer moves
// to one twice as large.
let spares = [], spareTimer = 0;
const sparePeriod = 30000, maxSpareBuffers = 2;

// buffer returns a buffer of size bytes at least: the smallest spare that
// is as long, or a new one.
function buffer(size) {
  let best = -1;
  for (let i = 0; i < spares.length; i++) {
    if (spares[i].length >= size && (best < 0 || spares[i].length < spares[best].length)) best = i;
  }
  if (best >= 0) return spares.splice(best, 1)[0];
  // With room to spare: a release payload, a little longer than its image,
  // then fits in the buffer the image was hashed in. Room never written
  // costs nothing.
  return new Uint8Array(Math.max(size + Math.ceil(size / 64), 1 << 20));
}

function keep(b) {
  spares.push(b);
  if (spares.length > maxSpareBuffers) {
    spares.sort((x, y) => y.length - x.length);
    spares.length = maxSpareBuffers;
  }
  clearTimeout(spareTimer);
  spareTimer = setTimeout(() => { spares = []; }, sparePeriod);
}

// add appends p (a Uint8Array) to input id, made with room for reserve
// bytes when it is new.
function add(id, p, block, reserve) {
  const inp = room(id, p.length, block, reserve);
  inp.buf.set(p, inp.n);
  inp.n += p.length;
  wrote(inp, inp.n - p.length, inp.n);
  return inp;
}

// room returns input id with room for n more bytes, making it (with room
// for reserve bytes) when it is new.
function room(id, n, block, reserve) {
  let inp = inputs.get(id);
  if (!inp) {
    inp = { buf: buffer(Math.max(n, reserve || 0)), n: 0, block: block || n,
      sha: shaWasm ? shaWasm.start() : null, hashed: 0, front: 0, later: [] };
    inputs.set(id, inp);
  }
  return roomTo(inp, inp.n + n);
}

// wrote tells input inp its bytes from start to end were written. Bytes
// written again (never in the console's own use) leave the digest to
// WebCrypto.
function wrote(inp, start, end) {
  if (!inp.sha || end <= start) return;
  if (start < inp.front) {
    inp.sha = null;
    return;
  }
  if (start > inp.front) {
    inp.later.push([start, end]);
    return;
  }
  inp.front = end;
  // Writes that waited past the gap now follow on.
  for (let moved = true; moved && inp.later.length;) {
    moved = false;
    inp.later = inp.later.filter(([s, e]) => {
      if (s > inp.front) return true;
      inp.front = Math.max(inp.front, e);
      moved = true;
      return false;
    });
  }
}

// hashNow hashes input inp's bytes written without a gap and not hashed
// yet.
function hashNow(inp) {
  if (inp && inp.sha && inp.hashed < inp.front) {
    shaWasm.update(inp.sha, inp.buf.subarray(inp.hashed, inp.front));
    inp.hashed = inp.front;
  }
}

// roomTo grows inp's buffer to hold end bytes, keeping what it holds.
function roomTo(inp, end) {
  if (end > inp.buf.length) {
    const grown = buffer(Math.max(2 * inp.buf.length, end));
    grown.set(inp.buf.subarray(0, inp.n));
    keep(inp.buf);
    inp.buf = grown;
  }
  return inp;
}

// at returns input id (made with room for reserve bytes when it is new)
// with room for n bytes from off, which the caller writes: the input then
// holds bytes up to there at least.
function at(id, off, n, reserve) {
  const inp = room(id, 0, 1 << 20, reserve);
  inp.blob = undefined; // the bytes change: a Blob made of them is stale
  roomTo(inp, off + n);
  inp.n = Math.max(inp.n, off + n);
  return inp;
}

// uploads are the uploads under way, by id.
const uploads = new Map();

// upload sends m.head, then input m.input's bytes, as one request body.
function upload(m) {
  const inp = inputs.get(m.input);
  if (!inp) {
    postMessage({ id: m.id, error: "the payload is no longer held" });
    return;
  }
  const xhr = new XMLHttpRequest();
  uploads.set(m.id, xhr);
  const fail = (what) => () => {
    uploads.delete(m.id);
    postMessage({ id: m.id, error: what });
  };
  try {
    xhr.open(m.method, m.url);
    xhr.responseType = "arraybuffer";
    for (const k of Object.keys(m.header || {})) xhr.setRequestHeader(k, m.header[k]);
    xhr.upload.onprogress = (e) => postMessage({ progress: m.id, loaded: e.loaded, total: e.total });
    xhr.onload = () => {
      uploads.delete(m.id);
      const body = xhr.response instanceof ArrayBuffer ? xhr.response : new ArrayBuffer(0);
      postMessage({ id: m.id, status: xhr.status, contentType: xhr.getResponseHeader("Content-Type") || "", body }, [body]);
    };
    xhr.onerror = fail("network error");
    xhr.ontimeout = fail("timed out");
    xhr.onabort = fail("aborted");
    // The Blob joins the two without another copy of the payload here;
    // none at all when the payload's Blob was made at its digest.
    const payload = inp.blob && inp.blob.size === inp.n ? inp.blob : inp.buf.subarray(0, inp.n);
    xhr.send(new Blob([new Uint8Array(m.head), payload]));
  } catch (err) {
    fail(String((err && err.message) || err))();
  }
}

// ctrKey returns the AES-CTR key for raw key bytes (an ArrayBuffer),
// imported once per input (or, for ctr requests, once for as long as the
// pieces come with the same key): every piece of an image comes with the
// same key.
function ctrKey(inp, raw) {
  const k = new Uint8Array(raw);
  if (!inp.ctrRaw || inp.ctrRaw.length !== k.length || !inp.ctrRaw.every((b, i) => b === k[i])) {
    inp.ctrRaw = k;
    inp.ctrKey = crypto.subtle.importKey("raw", k, "AES-CTR", false, ["encrypt"]);
  }
  return inp.ctrKey;
}

// lastCTR holds the key of the last ctr request (see ctrKey).
const lastCTR = {};

// take forgets input id and returns its bytes in pieces of block bytes
// (the last one possibly shorter), as the page sent them.
function take(id) {
  const inp = inputs.get(id);
  inputs.delete(id);
  const parts = [];
  if (!inp) return parts;
  for (let o = 0; o < inp.n; o += inp.block) parts.push(inp.buf.slice(o, Math.min(inp.n, o + inp.block)).buffer);
  keep(inp.buf);
  return parts;
}

// poly returns the Poly1305 a seal request m is to use: WebAssembly's
// (and with it ChaCha20 in WebAssembly SIMD, where there is that) unless
// there is none or m asks for JavaScript alone (js: true; the tests seal
// both ways).
function poly(m) {
  return m.js ? null : polyWasm;
}

// giveBack returns m's data to the page when it asked for it (back), to
// carry its next piece: memory already written costs less to write again.
// Then it hashes what m brought to input inp.
function giveBack(m, inp) {
  if (m.back) postMessage({ back: m.data }, [m.data]);
  hashNow(inp);
}

onmessage = async (e) => {
  const m = e.data;
  // A piece's data may be longer than the piece: n says how long.
  const piece = () => new Uint8Array(m.data, 0, m.n === undefined ? m.data.byteLength : m.n);
  switch (m.op) {
    case "add":
      giveBack(m, add(m.id, piece(), m.block, m.reserve));
      break;
    case "put": {
      const p = piece();
      const inp = at(m.id, m.at, p.length, m.reserve);
      inp.buf.set(p, m.at);
      wrote(inp, m.at, m.at + p.length);
      giveBack(m, inp);
      break;
    }
    case "upload":
      upload(m);
      break;
    case "abort": {
      const xhr = uploads.get(m.id);
      if (xhr) xhr.abort();
      break;
    }
    case "hashctr": {
      // Joined before anything is awaited: pieces join in the order sent.
      const p = new Uint8Array(m.data, 0, m.n);
      const inp = add(m.input, p, m.block, m.reserve);
      try {
        const key = await ctrKey(inp, m.key);
        const out = await crypto.subtle.encrypt({ name: "AES-CTR", counter: m.counter, length: 128 }, key, p);
        postMessage({ id: m.id, data: out, back: m.data }, [out, m.data]);
      } catch (err) {
        postMessage({ id: m.id, error: String((err && err.name) || err), back: m.data }, [m.data]);
      }
      hashNow(inp);
      break;
    }
    case "drop": {
      const inp = inputs.get(m.id);
      inputs.delete(m.id);
      if (inp) keep(inp.buf);
      break;
    }
    case "ctr": {
      // On this thread, not the page's: Chromium runs WebCrypto's AES on
      // the calling thread, and several workers run parts side by side.
      try {
        const key = await ctrKey(lastCTR, m.key);
        const src = m.n === undefined ? m.data : new Uint8Array(m.data, 0, m.n);
        const out = await crypto.subtle.encrypt({ name: "AES-CTR", counter: m.counter, length: 128 }, key, src);
        if (m.back) postMessage({ id: m.id, data: out, back: m.data }, [out, m.data]);
        else postMessage({ id: m.id, data: out }, [out]);
      } catch (err) {
        if (m.back) postMessage({ id: m.id, error: String((err && err.name) || err), back: m.data }, [m.data]);
        else postMessage({ id: m.id, error: String((err && err.name) || err) });
      }
      break;
    }
    case "seal": {
      let out;
      try {
        if (m.into !== undefined) {
          // Sealed in place into the input, which keeps it, from m.at.
          const src = piece();
          const n = sealedSize(src.length, m.last);
          const inp = at(m.into, m.at, n, m.reserve);
          if ((inp.buf.byteOffset + m.at) % 4 === 0) {
            sealChunks(m.key, m.counter, m.last, src, inp.buf, m.at, poly(m));
          } else {
            // The words ChaCha20 is computed in must be aligned: sealed
            // into a buffer kept for the next batch, then copied.
            if (!inp.tmp || inp.tmp.length < n) inp.tmp = new Uint8Array(n);
            sealChunks(m.key, m.counter, m.last, src, inp.tmp, 0, poly(m));
            inp.buf.set(inp.tmp.subarray(0, n), m.at);
          }
          wrote(inp, m.at, m.at + n);
          if (m.back) postMessage({ id: m.id, n, back: m.data }, [m.data]);
          else postMessage({ id: m.id, n });
          hashNow(inp);
          break;
        }
        if (m.out !== undefined) {
          // Sealed into the page's buffer, which goes back with its length.
          const src = piece();
          const n = sealedSize(src.length, m.last);
          if (m.out.byteLength < n) throw new Error("output buffer of " + m.out.byteLength + " bytes, want " + n);
          sealChunks(m.key, m.counter, m.last, src, new Uint8Array(m.out), 0, poly(m));
          postMessage({ id: m.id, data: m.out, n, back: m.data }, [m.out, m.data]);
          break;
        }
        out = sealChunks(m.key, m.counter, m.last, piece(), undefined, 0, poly(m));
      } catch (err) {
        if (m.back) postMessage({ id: m.id, error: String((err && err.message) || err), back: m.data }, [m.data]);
        else postMessage({ id: m.id, error: String((err && err.message) || err) });
        break;
      }
      if (m.back) postMessage({ id: m.id, data: out, back: m.data }, [out, m.data]);
      else postMessage({ id: m.id, data: out }, [out]);
      break;
    }
    case "take": {
      const parts = take(m.id);
      postMessage({ id: m.id, parts }, parts);
      break;
    }
    case "digest": {
      const inp = inputs.get(m.id);
      try {
        const bytes = inp ? inp.buf.subarray(0, inp.n) : new Uint8Array(0);
        if (m.keep && inp) {
          // A kept input is uploaded next (upload): its Blob is made now,
          // and the browser takes its bytes in while this thread copies
          // them again for the digest, instead of after the manifest is
          // signed.
          inp.blob = new Blob([bytes]);
        }
        // Hashed as it arrived: finished on a copy of the state, which
        // goes on should more bytes come.
        hashNow(inp);
        const asArrived = m.alg === "SHA-256" && !m.oneShot && inp && inp.sha &&
          inp.hashed === inp.n && inp.later.length === 0;
        const by = asArrived ? "wasm" : "webcrypto";
        const sum = asArrived ? shaWasm.finish(shaWasm.copy(inp.sha)).buffer : await crypto.subtle.digest(m.alg, bytes);
        if (!m.keep) {
          if (inputs.get(m.id) === inp) inputs.delete(m.id);
          if (inp) keep(inp.buf);
        }
        postMessage({ id: m.id, sum, by }, [sum]);
      } catch (err) {
        const parts = take(m.id);
        postMessage({ id: m.id, error: String((err && err.name) || err), parts }, parts);
      }
      break;
    }
  }
};

// ---- age payload chunks: ChaCha20-Poly1305 (RFC 8439), written from the RFC ----
//
// age (age-encryption.org/v1) seals its payload in 64 KiB chunks, each with
// ChaCha20-Poly1305 under the payload key and a 12-byte nonce: the chunk's
// number as an 11-byte big-endian counter, then 1 for the file's last chunk
// and 0 before it. WebCrypto has no ChaCha20-Poly1305, and in WebAssembly
// Go runs it on the page's thread; the console (crypto/bundle through
// internal/browser) has this worker seal them instead. crypto/engine's
// SealChunks is the reference these bytes are tested against, in Chromium.

const CHUNK = 65536;
const TAG = 16;
// Typed-array views below read words in the platform's order: little-endian
// everywhere browsers run; elsewhere sealing is refused and Go seals.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// zeroBlock is sixteen zero words: XORed with ChaCha20's block, the block.
const zeroBlock = new Uint32Array(16);

// chachaBlock writes ChaCha20's block for key words k, block counter ctr
// and nonce words n0..n2 to out (16 words).
function chachaBlock(k, ctr, n0, n1, n2, out) {
  chachaXor(k, ctr, n0, n1, n2, zeroBlock, out, 0);
}

// chachaXor writes to d32 at w the 16 words of s32 at w XORed with
// ChaCha20's block for key words k, block counter ctr and nonce words
// n0..n2, without the block in between.
function chachaXor(k, ctr, n0, n1, n2, s32, d32, w) {
  const j0 = 0x61707865, j1 = 0x3320646e, j2 = 0x79622d32, j3 = 0x6b206574;
  const j4 = k[0], j5 = k[1], j6 = k[2], j7 = k[3], j8 = k[4], j9 = k[5], j10 = k[6], j11 = k[7];
  let x0 = j0, x1 = j1, x2 = j2, x3 = j3, x4 = j4, x5 = j5, x6 = j6, x7 = j7;
  let x8 = j8, x9 = j9, x10 = j10, x11 = j11, x12 = ctr, x13 = n0, x14 = n1, x15 = n2;
  for (let i = 0; i < 10; i++) {
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
  }
  d32[w + 0] = s32[w + 0] ^ (x0 + j0);
  d32[w + 1] = s32[w + 1] ^ (x1 + j1);
  d32[w + 2] = s32[w + 2] ^ (x2 + j2);
  d32[w + 3] = s32[w + 3] ^ (x3 + j3);
  d32[w + 4] = s32[w + 4] ^ (x4 + j4);
  d32[w + 5] = s32[w + 5] ^ (x5 + j5);
  d32[w + 6] = s32[w + 6] ^ (x6 + j6);
  d32[w + 7] = s32[w + 7] ^ (x7 + j7);
  d32[w + 8] = s32[w + 8] ^ (x8 + j8);
  d32[w + 9] = s32[w + 9] ^ (x9 + j9);
  d32[w + 10] = s32[w + 10] ^ (x10 + j10);
  d32[w + 11] = s32[w + 11] ^ (x11 + j11);
  d32[w + 12] = s32[w + 12] ^ (x12 + ctr);
  d32[w + 13] = s32[w + 13] ^ (x13 + n0);
  d32[w + 14] = s32[w + 14] ^ (x14 + n1);
  d32[w + 15] = s32[w + 15] ^ (x15 + n2);
}

// Poly1305 keeps its 130-bit accumulator h and the key's r in seven 19-bit
// limbs (limb i weighs 2^(19i): 133 bits in all). 2^133 = 8 * 2^130 = 40
// mod 2^130-5, so limbs of a product past the seventh fold back multiplied
// by 40. Every limb of h stays below 2^20 and of r below 2^19, so a
// product is below 2^45 and a sum of seven below 2^48: exact integers in
// JavaScript numbers (below 2^53). st holds h (0..6), r (7..13) and 40r
// (14..20). (Seven limbs need half the multiplications of thirteen-bit
// ones: the tag is most of the sealing time.)
const LIMB = 524288; // 2^19
const INVLIMB = 1 / LIMB; // exact: multiplying by it divides exactly
const M19 = 0x7ffff;
const P1305 = (1n << 130n) - 5n;
const MASK128 = (1n << 128n) - 1n;

// polyKey sets st's r from the 16-byte r half of a one-time key (clamped,
// RFC 8439 2.5) and zeroes h.
function polyKey(st, key) {
  const b = key.slice(0, 16);
  b[3] &= 15; b[7] &= 15; b[11] &= 15; b[15] &= 15;
  b[4] &= 252; b[8] &= 252; b[12] &= 252;
  const w = new Uint32Array(b.buffer, 0, 4);
  const w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
  const r = [
    w0 & M19, ((w0 >>> 19) | (w1 << 13)) & M19, (w1 >>> 6) & M19, ((w1 >>> 25) | (w2 << 7)) & M19,
    (w2 >>> 12) & M19, ((w2 >>> 31) | (w3 << 1)) & M19, w3 >>> 18,
  ];
  for (let i = 0; i < 7; i++) {
    st[i] = 0;
    st[7 + i] = r[i];
    st[14 + i] = 40 * r[i];
  }
}

// polyBlocks adds n full 16-byte blocks of m at off to st's h: each
// h = (h + block + 2^128) * r mod 2^130-5, partly reduced (limbs below
// 2^19, the second a little above).
function polyBlocks(st, m, off, n) {
  // m at off is 4-byte aligned: read its 32-bit words (little-endian).
  const m32 = new Uint32Array(m.buffer, m.byteOffset + off, 4 * n);
  let h0 = st[0], h1 = st[1], h2 = st[2], h3 = st[3], h4 = st[4], h5 = st[5], h6 = st[6];
  const r0 = st[7], r1 = st[8], r2 = st[9], r3 = st[10], r4 = st[11], r5 = st[12], r6 = st[13];
  const s1 = st[15], s2 = st[16], s3 = st[17], s4 = st[18], s5 = st[19], s6 = st[20];
  for (let i = 0, end = 4 * n; i < end; i += 4) {
    const w0 = m32[i], w1 = m32[i + 1], w2 = m32[i + 2], w3 = m32[i + 3];
    // The block's limbs, and 2^128 (bit 14 of the seventh limb).
    h0 += w0 & M19;
    h1 += ((w0 >>> 19) | (w1 << 13)) & M19;
    h2 += (w1 >>> 6) & M19;
    h3 += ((w1 >>> 25) | (w2 << 7)) & M19;
    h4 += (w2 >>> 12) & M19;
    h5 += ((w2 >>> 31) | (w3 << 1)) & M19;
    h6 += (w3 >>> 18) | 0x4000;
    const d0 = h0 * r0 + h1 * s6 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2 + h6 * s1;
    let d1 = h0 * r1 + h1 * r0 + h2 * s6 + h3 * s5 + h4 * s4 + h5 * s3 + h6 * s2;
    let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s6 + h4 * s5 + h5 * s4 + h6 * s3;
    let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s6 + h5 * s5 + h6 * s4;
    let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s6 + h6 * s5;
    let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0 + h6 * s6;
    let d6 = h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2 + h5 * r1 + h6 * r0;
    // Carry: each d is below 2^48, each carry below 2^29.
    let c = (d0 * INVLIMB) | 0; h0 = d0 - c * LIMB;
    d1 += c; c = (d1 * INVLIMB) | 0; h1 = d1 - c * LIMB;
    d2 += c; c = (d2 * INVLIMB) | 0; h2 = d2 - c * LIMB;
    d3 += c; c = (d3 * INVLIMB) | 0; h3 = d3 - c * LIMB;
    d4 += c; c = (d4 * INVLIMB) | 0; h4 = d4 - c * LIMB;
    d5 += c; c = (d5 * INVLIMB) | 0; h5 = d5 - c * LIMB;
    d6 += c; c = (d6 * INVLIMB) | 0; h6 = d6 - c * LIMB;
    h0 += c * 40; c = (h0 * INVLIMB) | 0; h0 -= c * LIMB;
    h1 += c;
  }
  st[0] = h0; st[1] = h1; st[2] = h2; st[3] = h3; st[4] = h4; st[5] = h5; st[6] = h6;
}

// polyTag writes the tag for st's h and the s half of the one-time key to
// out at off.
function polyTag(st, key, out, off) {
  let h = 0n;
  for (let i = 6; i >= 0; i--) h = (h << 19n) + BigInt(st[i]);
  tagOf(h, key, out, off);
}

// tagOf writes the tag, (h mod 2^130-5) + s mod 2^128, for the s half of
// the one-time key, to out at off. Once a chunk: exact BigInt arithmetic.
function tagOf(h, key, out, off) {
  let s = 0n;
  for (let i = 31; i >= 16; i--) s = (s << 8n) + BigInt(key[i]);
  let t = ((h % P1305) + s) & MASK128;
  for (let i = 0; i < 16; i++) {
    out[off + i] = Number(t & 0xffn);
    t >>= 8n;
  }
}

// polyWasm is Poly1305 in WebAssembly, where the page allows it: five
// 26-bit limbs multiplied in 64-bit integers (25 products a block, where
// JavaScript numbers need the 49 above), about twice as fast as polyBlocks
// in this worker. The module is written out below, instruction by
// instruction; the code above is the fallback and the reference it is
// tested against (TestKeptBundlesMatchGo compares the sealed bytes with
// Go's, in Chromium). null when WebAssembly cannot be compiled here.
const polyWasm = orNull(makePolyWasm);

// orNull returns make(), or null when it throws: a page that refuses
// WebAssembly, or a browser without the instructions a module uses.
function orNull(make) {
  try {
    return make();
  } catch (err) {
    return null;
  }
}

// uleb writes v as WebAssembly's binary format writes numbers (unsigned
// LEB128).
function uleb(v) {
  const out = [];
  do { let b = v & 0x7f; v >>>= 7; if (v) b |= 0x80; out.push(b); } while (v);
  return out;
}

// sleb32 writes v, a 32-bit integer, as WebAssembly's binary format writes
// i32 constants (signed LEB128).
function sleb32(v) {
  v |= 0;
  const out = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

// wasmInstance compiles and instantiates a module of one function, (i32)
// -> (), exported as name, with body fn (its locals, then its code), and a
// memory of pages 64 KiB pages exported as "mem".
function wasmInstance(name, pages, fn) {
  const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
  const str = (t) => [...uleb(t.length), ...Array.from(t, (ch) => ch.charCodeAt(0))];
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 0]), // type: (i32) -> ()
    ...section(3, [1, 0]), // one function of that type
    ...section(5, [1, 0x00, pages]), // its memory
    ...section(7, [2, ...str("mem"), 0x02, 0, ...str(name), 0x00, 0]),
    ...section(10, [1, ...uleb(fn.length), ...fn]),
  ]);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes));
}

function makePolyWasm() {
  // Memory: the blocks to add from 0 (up to CHUNK + 32 bytes), the state
  // from ST: h0..h4, r0..r4, then 5r1..5r4, as 64-bit words.
  const ST = 131072;
  const leb = uleb;
  const sleb = (v) => { // signed LEB128, for small non-negative constants
    const out = [];
    for (;;) { const b = v & 0x7f; v = Math.floor(v / 128); if (v === 0 && !(b & 0x40)) { out.push(b); return out; } out.push(b | 0x80); }
  };
  // Locals: 0 n (param), 1 p, 2 end (i32); 64-bit from 3 on.
  const I64 = { h0: 3, h1: 4, h2: 5, h3: 6, h4: 7, r0: 8, r1: 9, r2: 10, r3: 11, r4: 12,
    s1: 13, s2: 14, s3: 15, s4: 16, t0: 17, t1: 18, t2: 19, t3: 20, d0: 21, d1: 22, d2: 23, d3: 24, d4: 25, c: 26 };
  const get = (l) => [0x20, ...leb(l)], set = (l) => [0x21, ...leb(l)];
  const k64 = (v) => [0x42, ...sleb(v)];
  const add = [0x7c], mul = [0x7e], and = [0x83], or = [0x84], shl = [0x86], shr = [0x88];
  const M = 0x3ffffff;
  const load = (off) => [0x41, 0, 0x29, 3, ...leb(ST + off)]; // i64.load from ST+off
  const store = (off, l) => [0x41, 0, ...get(l), 0x37, 3, ...leb(ST + off)];
  const word = (off) => [...get(1), 0x35, 2, ...leb(off)]; // i64.load32_u p+off
  const names = ["h0", "h1", "h2", "h3", "h4", "r0", "r1", "r2", "r3", "r4", "s1", "s2", "s3", "s4"];
  const code = [];
  names.forEach((n, i) => code.push(...load(8 * i), ...set(I64[n])));
  code.push(...get(0), 0x41, 4, 0x74, ...set(2)); // end = n << 4
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  code.push(...get(1), ...get(2), 0x46, 0x0d, 1); // p == end: out
  ["t0", "t1", "t2", "t3"].forEach((t, i) => code.push(...word(4 * i), ...set(I64[t])));
  const acc = (h, expr) => code.push(...get(I64[h]), ...expr, ...add, ...set(I64[h]));
  acc("h0", [...get(I64.t0), ...k64(M), ...and]);
  acc("h1", [...get(I64.t0), ...k64(26), ...shr, ...get(I64.t1), ...k64(6), ...shl, ...or, ...k64(M), ...and]);
  acc("h2", [...get(I64.t1), ...k64(20), ...shr, ...get(I64.t2), ...k64(12), ...shl, ...or, ...k64(M), ...and]);
  acc("h3", [...get(I64.t2), ...k64(14), ...shr, ...get(I64.t3), ...k64(18), ...shl, ...or, ...k64(M), ...and]);
  acc("h4", [...get(I64.t3), ...k64(8), ...shr, ...k64(1 << 24), ...or]);
  // d_i = sum over j of h_j times r_(i-j), or 5r_(i-j+5) where i-j < 0.
  const rr = (i) => (i >= 0 ? "r" + i : "s" + (i + 5));
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      code.push(...get(I64["h" + j]), ...get(I64[rr(i - j)]), ...mul);
      if (j > 0) code.push(...add);
    }
    code.push(...set(I64["d" + i]));
  }
  // Carry through the limbs, and the top's carry times 5 into h0.
  for (let i = 0; i < 5; i++) {
    const d = I64["d" + i];
    if (i > 0) code.push(...get(d), ...get(I64.c), ...add, ...set(d));
    code.push(...get(d), ...k64(26), ...shr, ...set(I64.c));
    code.push(...get(d), ...k64(M), ...and, ...set(I64["h" + i]));
  }
  code.push(...get(I64.h0), ...get(I64.c), ...k64(5), ...mul, ...add, ...set(I64.h0));
  code.push(...get(I64.h0), ...k64(26), ...shr, ...set(I64.c));
  code.push(...get(I64.h0), ...k64(M), ...and, ...set(I64.h0));
  code.push(...get(I64.h1), ...get(I64.c), ...add, ...set(I64.h1));
  code.push(...get(1), 0x41, 16, 0x6a, ...set(1)); // p += 16
  code.push(0x0c, 0, 0x0b, 0x0b); // br loop, end loop, end block
  for (let i = 0; i < 5; i++) code.push(...store(8 * i, I64["h" + i]));
  code.push(0x0b);
  const locals = [2, 2, 0x7f, 24, 0x7e]; // 2 i32, then 24 i64
  const inst = wasmInstance("blocks", 3, [...locals, ...code]);
  const mem = new Uint8Array(inst.exports.mem.buffer);
  const st = new BigUint64Array(inst.exports.mem.buffer, ST, 14);
  const blocks = inst.exports.blocks;
  const M26 = 0x3ffffff;
  return {
    // key sets r from the clamped r half of a one-time key and zeroes h.
    key(key) {
      const b = key.slice(0, 16);
      b[3] &= 15; b[7] &= 15; b[11] &= 15; b[15] &= 15;
      b[4] &= 252; b[8] &= 252; b[12] &= 252;
      const w = new Uint32Array(b.buffer, 0, 4);
      const r = [w[0] & M26, ((w[0] >>> 26) | (w[1] << 6)) & M26, ((w[1] >>> 20) | (w[2] << 12)) & M26,
        ((w[2] >>> 14) | (w[3] << 18)) & M26, w[3] >>> 8];
      for (let i = 0; i < 5; i++) {
        st[i] = 0n;
        st[5 + i] = BigInt(r[i]);
        if (i > 0) st[9 + i] = BigInt(5 * r[i]);
      }
    },
    // blocks adds n 16-byte blocks of m from off, CHUNK bytes at a time.
    blocks(m, off, n) {
      while (n > 0) {
        const k = Math.min(n, CHUNK >>> 4);
        mem.set(m.subarray(off, off + 16 * k), 0);
        blocks(k);
        off += 16 * k;
        n -= k;
      }
    },
    // tag writes the tag for the s half of the one-time key to out at off.
    tag(key, out, off) {
      let h = 0n;
      for (let i = 4; i >= 0; i--) h = (h << 26n) + st[i];
      tagOf(h, key, out, off);
    },
  };
}

// chachaWasm is ChaCha20 in WebAssembly's 128-bit SIMD, where the page
// allows it: four blocks at once, each vector holding one word of the four
// (as in the ChaCha paper's vectorised form), the keystream turned back
// into block order with shuffles and XORed in place. chachaXor above is
// the fallback for the blocks it does not take (and for pages without
// SIMD) and the reference: TestSealChunksMatchGo compares the sealed bytes
// with Go's. null when the module cannot be compiled here.
const chachaWasm = orNull(makeChachaWasm);

function makeChachaWasm() {
  // Memory: the data from 0 (up to CHUNK bytes, four blocks at a time),
  // then at PAR the first block's counter, the key's eight words and the
  // nonce's three, as 32-bit words.
  const PAR = CHUNK;
  const leb = uleb;
  // Locals: 0 quads (param), 1 p, 2 end (i32); v128: 3..18 x, 19..34 j,
  // 35..38 t, 39 o.
  const X = (i) => 3 + i, J = (i) => 19 + i, T = (i) => 35 + i, O = 39;
  const get = (l) => [0x20, ...leb(l)], set = (l) => [0x21, ...leb(l)];
  const simd = (op) => [0xfd, ...leb(op)];
  const add = simd(174), xor = simd(81), or = simd(80), shl = simd(171), shru = simd(173), splat = simd(17);
  const i32 = (v) => [0x41, ...sleb32(v)];
  const v128const = (w) => [...simd(12), ...new Uint8Array(new Uint32Array(w).buffer)];
  const shuffle = (lanes) => [...simd(13), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];
  const code = [];
  // The constant words, the key and nonce words, and the counters.
  [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574].forEach((c, i) => code.push(...i32(c), ...splat, ...set(J(i))));
  for (let i = 0; i < 8; i++) code.push(...i32(0), 0x28, 2, ...leb(PAR + 4 + 4 * i), ...splat, ...set(J(4 + i)));
  for (let i = 0; i < 3; i++) code.push(...i32(0), 0x28, 2, ...leb(PAR + 36 + 4 * i), ...splat, ...set(J(13 + i)));
  code.push(...i32(0), 0x28, 2, ...leb(PAR), ...splat, ...v128const([0, 1, 2, 3]), ...add, ...set(J(12)));
  code.push(...get(0), ...i32(8), 0x74, ...set(2)); // end = quads << 8
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  code.push(...get(1), ...get(2), 0x46, 0x0d, 1); // p == end: out
  for (let i = 0; i < 16; i++) code.push(...get(J(i)), ...set(X(i)));
  const rot = (d, n) => code.push(...get(X(d)), ...i32(n), ...shl, ...get(X(d)), ...i32(32 - n), ...shru, ...or, ...set(X(d)));
  const step = (a, b, d, n) => {
    code.push(...get(X(a)), ...get(X(b)), ...add, ...set(X(a)));
    code.push(...get(X(d)), ...get(X(a)), ...xor, ...set(X(d)));
    rot(d, n);
  };
  const qr = (a, b, c, d) => { step(a, b, d, 16); step(c, d, b, 12); step(a, b, d, 8); step(c, d, b, 7); };
  for (let r = 0; r < 10; r++) {
    qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
    qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
  }
  for (let i = 0; i < 16; i++) code.push(...get(X(i)), ...get(J(i)), ...add, ...set(X(i)));
  // Words 4g..4g+3 of the four blocks, block by block, XORed in.
  for (let g = 0; g < 4; g++) {
    const [a, b, c, d] = [X(4 * g), X(4 * g + 1), X(4 * g + 2), X(4 * g + 3)];
    code.push(...get(a), ...get(b), ...shuffle([0, 4, 1, 5]), ...set(T(0)));
    code.push(...get(a), ...get(b), ...shuffle([2, 6, 3, 7]), ...set(T(1)));
    code.push(...get(c), ...get(d), ...shuffle([0, 4, 1, 5]), ...set(T(2)));
    code.push(...get(c), ...get(d), ...shuffle([2, 6, 3, 7]), ...set(T(3)));
    const outs = [[0, 2, [0, 1, 4, 5]], [0, 2, [2, 3, 6, 7]], [1, 3, [0, 1, 4, 5]], [1, 3, [2, 3, 6, 7]]];
    outs.forEach(([u, v, lanes], blk) => {
      const off = 64 * blk + 16 * g;
      code.push(...get(T(u)), ...get(T(v)), ...shuffle(lanes), ...set(O));
      code.push(...get(1), ...get(1), ...simd(0), 4, ...leb(off), ...get(O), ...xor, ...simd(11), 4, ...leb(off));
    });
  }
  code.push(...get(J(12)), ...v128const([4, 4, 4, 4]), ...add, ...set(J(12)));
  code.push(...get(1), ...i32(256), 0x6a, ...set(1)); // p += 256
  code.push(0x0c, 0, 0x0b, 0x0b, 0x0b); // br loop, end loop, end block, end
  const inst = wasmInstance("xor", 2, [2, 2, 0x7f, 37, 0x7b, ...code]); // 2 i32, 37 v128
  const mem = new Uint8Array(inst.exports.mem.buffer);
  const par = new Uint32Array(inst.exports.mem.buffer, PAR, 12);
  const run = inst.exports.xor;
  return {
    // xor writes to dst at off the first quads*256 bytes of src XORed with
    // ChaCha20's blocks ctr, ctr+1, ... for key words k and the nonce's.
    xor(k, ctr, n0, n1, n2, src, dst, off, quads) {
      const n = 256 * quads;
      mem.set(src.subarray(0, n), 0);
      par[0] = ctr;
      par.set(k, 1);
      par[9] = n0; par[10] = n1; par[11] = n2;
      run(quads);
      dst.set(mem.subarray(0, n), off);
    },
  };
}

// sealChunk seals src (at most CHUNK bytes) with ChaCha20-Poly1305 under
// key words k and the nonce's words, writing ciphertext and tag to dst at
// off. src's and dst's offsets are multiples of 4.
function sealChunk(k, n0, n1, n2, src, dst, off, ks, ks8, st, pw, cw) {
  const len = src.length;
  chachaBlock(k, 0, n0, n1, n2, ks);
  const otk = ks8.slice(0, 32);
  const whole = len >>> 6;
  const s32 = new Uint32Array(src.buffer, src.byteOffset, whole * 16);
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset + off, whole * 16);
  let from = 0;
  if (cw && whole >= 4) {
    const quads = whole >>> 2;
    cw.xor(k, 1, n0, n1, n2, src, dst, off, quads);
    from = 4 * quads;
  }
  for (let b = from, w = 16 * from; b < whole; b++, w += 16) chachaXor(k, b + 1, n0, n1, n2, s32, d32, w);
  if (len & 63) {
    chachaBlock(k, whole + 1, n0, n1, n2, ks);
    for (let i = whole * 64, j = 0; i < len; i++, j++) dst[off + i] = src[i] ^ ks8[j];
  }
  // The tag covers the ciphertext padded to 16 bytes, then the lengths of
  // the (empty) associated data and of the ciphertext as 64-bit numbers.
  if (pw) pw.key(otk);
  else polyKey(st, otk);
  if (pw) pw.blocks(dst, off, len >>> 4);
  else polyBlocks(st, dst, off, len >>> 4);
  const tail = new Uint8Array(32);
  let n = 0;
  if (len & 15) {
    tail.set(dst.subarray(off + (len & ~15), off + len));
    n = 16;
  }
  let v = len;
  for (let i = 24; i < 32; i++) {
    tail[n - 16 + i] = v & 0xff; // ciphertext length, little-endian, after 8 zero bytes
    v = Math.floor(v / 256);
  }
  if (pw) {
    pw.blocks(tail, 0, n / 16 + 1);
    pw.tag(otk, dst, off + len);
  } else {
    polyBlocks(st, tail, 0, n / 16 + 1);
    polyTag(st, otk, dst, off + len);
  }
}

// sealChunks seals src (a Uint8Array from an offset that is a multiple of
// 4) as age's chunks counter, counter+1, ..., the final one flagged when
// last, and returns the ciphertexts, joined, in a new ArrayBuffer, or into
// dst (a Uint8Array) from off when given; Poly1305 is pw's (polyWasm), or
// the JavaScript one when pw is null.
function sealChunks(key, counter, last, src, dst, off, pw) {
  if (!littleEndian) throw new Error("big-endian platform");
  if (key.byteLength !== 32) throw new Error("payload key of " + key.byteLength + " bytes");
  const chunks = Math.max(1, Math.ceil(src.length / CHUNK));
  if (!last && src.length % CHUNK !== 0) throw new Error("not whole chunks");
  const out = dst ? dst.subarray(off, off + src.length + chunks * TAG) : new Uint8Array(src.length + chunks * TAG);
  const k = new Uint32Array(key.slice(0));
  const ks = new Uint32Array(16), ks8 = new Uint8Array(ks.buffer);
  const st = new Float64Array(21);
  const nonce = new Uint8Array(12), n32 = new Uint32Array(nonce.buffer);
  for (let i = 0; i < chunks; i++) {
    const c = counter + i;
    const hi = Math.floor(c / 4294967296), lo = c >>> 0;
    nonce.fill(0);
    nonce[3] = hi >>> 24; nonce[4] = hi >>> 16; nonce[5] = hi >>> 8; nonce[6] = hi;
    nonce[7] = lo >>> 24; nonce[8] = lo >>> 16; nonce[9] = lo >>> 8; nonce[10] = lo;
    nonce[11] = last && i === chunks - 1 ? 1 : 0;
    sealChunk(k, n32[0], n32[1], n32[2], src.subarray(i * CHUNK, Math.min(src.length, (i + 1) * CHUNK)),
      out, i * (CHUNK + TAG), ks, ks8, st, pw, pw ? chachaWasm : null);
  }
  return out.buffer;
}

// sealedSize is how long n bytes of plaintext are sealed.
function sealedSize(n, last) {
  return n + Math.max(1, Math.ceil(n / CHUNK)) * TAG;
}

// ---- SHA-256 (FIPS 180-4) in WebAssembly, taken as an input's bytes arrive ----
//
// WebCrypto cannot digest a stream; this can. The compression function is
// written out below, instruction by instruction, its 64 rounds unrolled
// (the eight working variables renamed from round to round, never moved)
// and the message words read big-endian with one SIMD shuffle for every
// four. TestDigestSinkInWorker and TestWorkerDigestsOutOfOrder compare its
// digests with Go's, in Chromium. null where WebAssembly SIMD cannot be
// compiled: WebCrypto then digests each input at the end, as it did.
const shaWasm = orNull(makeShaWasm);

function makeShaWasm() {
  // Memory: the blocks from 0 (up to RUN bytes), the state's eight words at
  // ST.
  const RUN = 65536, ST = RUN;
  const leb = uleb;
  const K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ];
  const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  // Locals: 0 blocks (param), 1 p, 2 end; 3..10 the state as a block
  // starts; 11..18 the working variables; 19..34 the schedule's last
  // sixteen words; 35, 36 T1 and T2; 37 (v128) four message words.
  const S = (i) => 3 + i, V = (i) => 11 + i, W = (i) => 19 + i, T1 = 35, T2 = 36, Q = 37;
  const get = (l) => [0x20, ...leb(l)], set = (l) => [0x21, ...leb(l)];
  const i32 = (v) => [0x41, ...sleb32(v)];
  const add = [0x6a], and = [0x71], or = [0x72], xor = [0x73], shru = [0x76], rotr = [0x78];
  const simd = (op) => [0xfd, ...leb(op)];
  const code = [];
  for (let i = 0; i < 8; i++) code.push(...i32(0), 0x28, 2, ...leb(ST + 4 * i), ...set(S(i)));
  code.push(...get(0), ...i32(6), 0x74, ...set(2)); // end = blocks << 6
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  code.push(...get(1), ...get(2), 0x46, 0x0d, 1); // p == end: out
  // The block's sixteen words, big-endian: each lane's bytes reversed.
  const swap = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
  for (let q = 0; q < 4; q++) {
    code.push(...get(1), ...simd(0), 4, ...leb(16 * q), ...get(1), ...simd(0), 4, ...leb(16 * q),
      ...simd(13), ...swap, ...set(Q));
    for (let l = 0; l < 4; l++) code.push(...get(Q), ...simd(27), l, ...set(W(4 * q + l)));
  }
  for (let i = 0; i < 8; i++) code.push(...get(S(i)), ...set(V(i)));
  const sigma = (x, a, b, c, last) => [...get(x), ...i32(a), ...rotr, ...get(x), ...i32(b), ...rotr, ...xor,
    ...get(x), ...i32(c), ...last, ...xor];
  for (let t = 0; t < 64; t++) {
    // a..h of round t: a is V(-t mod 8), b the next, and so on.
    const v = (k) => V((((k - t) % 8) + 8) % 8);
    const w = W(t % 16);
    if (t >= 16) { // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]
      code.push(...get(w), ...sigma(W((t - 2) % 16), 17, 19, 10, shru), ...add, ...get(W((t - 7) % 16)), ...add,
        ...sigma(W((t - 15) % 16), 7, 18, 3, shru), ...add, ...set(w));
    }
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t], Ch(e, f, g) = g ^ (e & (f ^ g))
    code.push(...get(v(7)), ...sigma(v(4), 6, 11, 25, rotr), ...add,
      ...get(v(6)), ...get(v(4)), ...get(v(5)), ...get(v(6)), ...xor, ...and, ...xor, ...add,
      ...i32(K[t]), ...add, ...get(w), ...add, ...set(T1));
    // T2 = Σ0(a) + Maj(a, b, c), Maj(a, b, c) = (a & b) | (c & (a | b))
    code.push(...sigma(v(0), 2, 13, 22, rotr),
      ...get(v(0)), ...get(v(1)), ...and, ...get(v(2)), ...get(v(0)), ...get(v(1)), ...or, ...and, ...or, ...add,
      ...set(T2));
    // d += T1, and h's local becomes the next round's a: T1 + T2.
    code.push(...get(v(3)), ...get(T1), ...add, ...set(v(3)));
    code.push(...get(T1), ...get(T2), ...add, ...set(v(7)));
  }
  // After 64 rounds (eight turns of eight) the names are back in place.
  for (let i = 0; i < 8; i++) code.push(...get(S(i)), ...get(V(i)), ...add, ...set(S(i)));
  code.push(...get(1), ...i32(64), 0x6a, ...set(1)); // p += 64
  code.push(0x0c, 0, 0x0b, 0x0b); // br loop, end loop, end block
  for (let i = 0; i < 8; i++) code.push(...i32(0), ...get(S(i)), 0x36, 2, ...leb(ST + 4 * i));
  code.push(0x0b);
  const inst = wasmInstance("blocks", 2, [2, 36, 0x7f, 1, 0x7b, ...code]); // 36 i32, 1 v128
  const mem = new Uint8Array(inst.exports.mem.buffer);
  const st = new Uint32Array(inst.exports.mem.buffer, ST, 8);
  const blocks = inst.exports.blocks;
  // run hashes k whole blocks of b into state s.
  const run = (s, b, k) => {
    st.set(s.h);
    for (let done = 0; done < k;) {
      const j = Math.min(k - done, RUN >>> 6);
      mem.set(b.subarray(64 * done, 64 * (done + j)), 0);
      blocks(j);
      done += j;
    }
    s.h.set(st);
  };
  return {
    // start returns a new state: h, the bytes of a block not yet whole
    // (tail, t of them) and the length so far.
    start: () => ({ h: Uint32Array.from(IV), tail: new Uint8Array(64), t: 0, len: 0 }),
    copy: (s) => ({ h: s.h.slice(), tail: s.tail.slice(), t: s.t, len: s.len }),
    // update adds p's bytes to s.
    update(s, p) {
      s.len += p.length;
      if (s.t > 0) {
        const k = Math.min(64 - s.t, p.length);
        s.tail.set(p.subarray(0, k), s.t);
        s.t += k;
        p = p.subarray(k);
        if (s.t < 64) return;
        run(s, s.tail, 1);
        s.t = 0;
      }
      const whole = p.length >>> 6;
      run(s, p, whole);
      s.tail.set(p.subarray(64 * whole), 0);
      s.t = p.length - 64 * whole;
    },
    // finish pads s and returns its digest (s is spent).
    finish(s) {
      const last = new Uint8Array(s.t < 56 ? 64 : 128);
      last.set(s.tail.subarray(0, s.t));
      last[s.t] = 0x80;
      const dv = new DataView(last.buffer);
      const bits = s.len * 8;
      dv.setUint32(last.length - 8, Math.floor(bits / 4294967296));
      dv.setUint32(last.length - 4, bits >>> 0);
      run(s, last, last.length >>> 6);
      const out = new Uint8Array(32), o = new DataView(out.buffer);
      for (let i = 0; i < 8; i++) o.setUint32(4 * i, s.h[i]);
      return out;
    },
  };
}

postMessage({ ready: true, sealer: polyWasm ? (chachaWasm ? "simd" : "wasm") : "js",
  digester: shaWasm ? "wasm" : "webcrypto" });
