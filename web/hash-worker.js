// trustforge: SHA digests of long inputs, off the page's thread.
//
// Chromium runs crypto.subtle.digest on the thread that calls it, and it is
// one-shot: hashing a 64 MiB image on the page froze it for a quarter of a
// second and more. The console (internal/browser's Sink) transfers the
// input here in 1 MiB pieces as it is produced (no copy), then asks for the
// digest; this worker joins the pieces and digests them on its own thread.
//
// It also seals age's payload chunks (ChaCha20-Poly1305), below.
//
// Messages in:  {op: "add", id, data: ArrayBuffer}   a piece of input id
//               {op: "digest", id, alg}               digest input id, forget it
//               {op: "take", id}                      give input id's pieces back
//               {op: "drop", id}                      forget input id
//               {op: "seal", id, key: ArrayBuffer, counter, last, data: ArrayBuffer}
//                                                     seal data as age's chunks from counter
//               {op: "ctr", id, key: ArrayBuffer, counter: ArrayBuffer, data: ArrayBuffer}
//                                                     AES-CTR (128-bit counter) with WebCrypto
// Messages out: {ready: true}                         once, at start
//               {id, sum: ArrayBuffer}                the digest
//               {id, error, parts: [ArrayBuffer]}     digest failed: the input back
//               {id, parts: [ArrayBuffer]}            answer to take
//               {id, data: ArrayBuffer} / {id, error} answer to seal and ctr
"use strict";

const inputs = new Map();

function take(id) {
  const parts = inputs.get(id) || [];
  inputs.delete(id);
  return parts;
}

onmessage = async (e) => {
  const m = e.data;
  switch (m.op) {
    case "add": {
      let parts = inputs.get(m.id);
      if (!parts) inputs.set(m.id, (parts = []));
      parts.push(m.data);
      break;
    }
    case "drop":
      inputs.delete(m.id);
      break;
    case "ctr": {
      // On this thread, not the page's: Chromium runs WebCrypto's AES on
      // the calling thread, and several workers run parts side by side.
      try {
        const key = await crypto.subtle.importKey("raw", m.key, "AES-CTR", false, ["encrypt"]);
        const out = await crypto.subtle.encrypt({ name: "AES-CTR", counter: m.counter, length: 128 }, key, m.data);
        postMessage({ id: m.id, data: out }, [out]);
      } catch (err) {
        postMessage({ id: m.id, error: String((err && err.name) || err) });
      }
      break;
    }
    case "seal": {
      let out;
      try {
        out = sealChunks(m.key, m.counter, m.last, m.data);
      } catch (err) {
        postMessage({ id: m.id, error: String((err && err.message) || err) });
        break;
      }
      postMessage({ id: m.id, data: out }, [out]);
      break;
    }
    case "take": {
      const parts = take(m.id);
      postMessage({ id: m.id, parts }, parts);
      break;
    }
    case "digest": {
      const parts = take(m.id);
      try {
        let data;
        if (parts.length === 1) {
          data = parts[0];
        } else {
          let n = 0;
          for (const p of parts) n += p.byteLength;
          data = new Uint8Array(n);
          let off = 0;
          for (const p of parts) {
            data.set(new Uint8Array(p), off);
            off += p.byteLength;
          }
        }
        const sum = await crypto.subtle.digest(m.alg, data);
        postMessage({ id: m.id, sum }, [sum]);
      } catch (err) {
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
const INV8192 = 1 / 8192; // exact: multiplying by it divides exactly
const TAG = 16;
// Typed-array views below read words in the platform's order: little-endian
// everywhere browsers run; elsewhere sealing is refused and Go seals.
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// chachaBlock writes ChaCha20's block for key words k, block counter ctr
// and nonce words n0..n2 to out (16 words).
function chachaBlock(k, ctr, n0, n1, n2, out) {
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
  out[0] = (x0 + j0) | 0; out[1] = (x1 + j1) | 0; out[2] = (x2 + j2) | 0; out[3] = (x3 + j3) | 0;
  out[4] = (x4 + j4) | 0; out[5] = (x5 + j5) | 0; out[6] = (x6 + j6) | 0; out[7] = (x7 + j7) | 0;
  out[8] = (x8 + j8) | 0; out[9] = (x9 + j9) | 0; out[10] = (x10 + j10) | 0; out[11] = (x11 + j11) | 0;
  out[12] = (x12 + ctr) | 0; out[13] = (x13 + n0) | 0; out[14] = (x14 + n1) | 0; out[15] = (x15 + n2) | 0;
}

// Poly1305 keeps its 130-bit numbers in ten 13-bit limbs (limb i weighs
// 2^(13i)), so that every product and sum is an exact integer in a
// JavaScript number (below 2^53). st holds h (0..9), r (10..19) and 5r
// (20..29): 2^130 = 5 mod 2^130-5, so limbs past the tenth fold back
// multiplied by 5.

// polyKey sets st's r from the 16-byte r half of a one-time key (clamped,
// RFC 8439 2.5) and zeroes h.
function polyKey(st, key) {
  const b = key.slice(0, 16);
  b[3] &= 15; b[7] &= 15; b[11] &= 15; b[15] &= 15;
  b[4] &= 252; b[8] &= 252; b[12] &= 252;
  const r = limbs(b, 0, 0);
  for (let i = 0; i < 10; i++) {
    st[i] = 0;
    st[10 + i] = r[i];
    st[20 + i] = 5 * r[i];
  }
}

// limbs splits the 16 bytes of b at off, plus hibit at bit 128 (as limb 9's
// bit 11), into limbs.
function limbs(b, off, hibit) {
  const t = [];
  for (let i = 0; i < 8; i++) t.push(b[off + 2 * i] | (b[off + 2 * i + 1] << 8));
  return [
    t[0] & 0x1fff, ((t[0] >>> 13) | (t[1] << 3)) & 0x1fff, ((t[1] >>> 10) | (t[2] << 6)) & 0x1fff,
    ((t[2] >>> 7) | (t[3] << 9)) & 0x1fff, ((t[3] >>> 4) | (t[4] << 12)) & 0x1fff, (t[4] >>> 1) & 0x1fff,
    ((t[4] >>> 14) | (t[5] << 2)) & 0x1fff, ((t[5] >>> 11) | (t[6] << 5)) & 0x1fff,
    ((t[6] >>> 8) | (t[7] << 8)) & 0x1fff, (t[7] >>> 5) | (hibit << 11),
  ];
}

// polyBlocks adds n full 16-byte blocks of m at off to st's h: each
// h = (h + block + 2^128) * r mod 2^130-5, partly reduced (limbs below 2^14).
function polyBlocks(st, m, off, n) {
  // m at off is 2-byte aligned: read its 16-bit words (little-endian).
  const m16 = new Uint16Array(m.buffer, m.byteOffset + off, 8 * n);
  off = 0;
  let h0 = st[0], h1 = st[1], h2 = st[2], h3 = st[3], h4 = st[4];
  let h5 = st[5], h6 = st[6], h7 = st[7], h8 = st[8], h9 = st[9];
  const r0 = st[10], r1 = st[11], r2 = st[12], r3 = st[13], r4 = st[14];
  const r5 = st[15], r6 = st[16], r7 = st[17], r8 = st[18], r9 = st[19];
  const s1 = st[21], s2 = st[22], s3 = st[23], s4 = st[24];
  const s5 = st[25], s6 = st[26], s7 = st[27], s8 = st[28], s9 = st[29];
  for (let end = 8 * n; off < end; off += 8) {
    const t0 = m16[off], t1 = m16[off + 1];
    const t2 = m16[off + 2], t3 = m16[off + 3];
    const t4 = m16[off + 4], t5 = m16[off + 5];
    const t6 = m16[off + 6], t7 = m16[off + 7];
    h0 += t0 & 0x1fff;
    h1 += ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
    h2 += ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
    h3 += ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
    h4 += ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
    h5 += (t4 >>> 1) & 0x1fff;
    h6 += ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
    h7 += ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
    h8 += ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
    h9 += (t7 >>> 5) | 0x800;
        let d0 = h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6 + h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
        let d1 = h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7 + h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
        let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8 + h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
        let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9 + h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
        let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
        let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
        let d6 = h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2 + h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
        let d7 = h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3 + h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
        let d8 = h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4 + h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
        let d9 = h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5 + h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
    // Carry: each d is below 2^35, each carry below 2^23.
    let c = (d0 * INV8192) | 0; h0 = d0 - c * 8192;
    d1 += c; c = (d1 * INV8192) | 0; h1 = d1 - c * 8192;
    d2 += c; c = (d2 * INV8192) | 0; h2 = d2 - c * 8192;
    d3 += c; c = (d3 * INV8192) | 0; h3 = d3 - c * 8192;
    d4 += c; c = (d4 * INV8192) | 0; h4 = d4 - c * 8192;
    d5 += c; c = (d5 * INV8192) | 0; h5 = d5 - c * 8192;
    d6 += c; c = (d6 * INV8192) | 0; h6 = d6 - c * 8192;
    d7 += c; c = (d7 * INV8192) | 0; h7 = d7 - c * 8192;
    d8 += c; c = (d8 * INV8192) | 0; h8 = d8 - c * 8192;
    d9 += c; c = (d9 * INV8192) | 0; h9 = d9 - c * 8192;
    h0 += c * 5; c = h0 >>> 13; h0 &= 0x1fff;
    h1 += c;
  }
  st[0] = h0; st[1] = h1; st[2] = h2; st[3] = h3; st[4] = h4;
  st[5] = h5; st[6] = h6; st[7] = h7; st[8] = h8; st[9] = h9;
}

// polyTag writes the tag, (h mod 2^130-5) + s mod 2^128, for the s half of
// the one-time key, to out at off.
function polyTag(st, key, out, off) {
  const h = Array.from(st.subarray(0, 10));
  // Carry fully: h below 2^130, every limb below 2^13.
  for (let pass = 0; pass < 3; pass++) {
    let c = 0;
    for (let i = 0; i < 10; i++) {
      h[i] += c;
      c = h[i] >>> 13;
      h[i] &= 0x1fff;
    }
    h[0] += 5 * c;
  }
  // g = h + 5 - 2^130: h itself when h >= 2^130 - 5.
  const g = [];
  let c = 5;
  for (let i = 0; i < 10; i++) {
    const v = h[i] + c;
    c = v >>> 13;
    g.push(v & 0x1fff);
  }
  const f = c ? g : h;
  const w = [
    (f[0] | (f[1] << 13)) & 0xffff, ((f[1] >>> 3) | (f[2] << 10)) & 0xffff,
    ((f[2] >>> 6) | (f[3] << 7)) & 0xffff, ((f[3] >>> 9) | (f[4] << 4)) & 0xffff,
    ((f[4] >>> 12) | (f[5] << 1) | (f[6] << 14)) & 0xffff, ((f[6] >>> 2) | (f[7] << 11)) & 0xffff,
    ((f[7] >>> 5) | (f[8] << 8)) & 0xffff, ((f[8] >>> 8) | (f[9] << 5)) & 0xffff,
  ];
  c = 0;
  for (let i = 0; i < 8; i++) {
    const v = w[i] + (key[16 + 2 * i] | (key[17 + 2 * i] << 8)) + c;
    c = v >>> 16;
    out[off + 2 * i] = v & 0xff;
    out[off + 2 * i + 1] = (v >>> 8) & 0xff;
  }
}

// sealChunk seals src (at most CHUNK bytes) with ChaCha20-Poly1305 under
// key words k and the nonce's words, writing ciphertext and tag to dst at
// off. src's and dst's offsets are multiples of 4.
function sealChunk(k, n0, n1, n2, src, dst, off, ks, ks8, st) {
  const len = src.length;
  chachaBlock(k, 0, n0, n1, n2, ks);
  const otk = ks8.slice(0, 32);
  const whole = len >>> 6;
  const s32 = new Uint32Array(src.buffer, src.byteOffset, whole * 16);
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset + off, whole * 16);
  for (let b = 0, w = 0; b < whole; b++, w += 16) {
    chachaBlock(k, b + 1, n0, n1, n2, ks);
    for (let i = 0; i < 16; i++) d32[w + i] = s32[w + i] ^ ks[i];
  }
  if (len & 63) {
    chachaBlock(k, whole + 1, n0, n1, n2, ks);
    for (let i = whole * 64, j = 0; i < len; i++, j++) dst[off + i] = src[i] ^ ks8[j];
  }
  // The tag covers the ciphertext padded to 16 bytes, then the lengths of
  // the (empty) associated data and of the ciphertext as 64-bit numbers.
  polyKey(st, otk);
  polyBlocks(st, dst, off, len >>> 4);
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
  polyBlocks(st, tail, 0, n / 16 + 1);
  polyTag(st, otk, dst, off + len);
}

// sealChunks seals data (an ArrayBuffer) as age's chunks counter,
// counter+1, ..., the final one flagged when last, and returns the
// ciphertexts, joined, in a new ArrayBuffer.
function sealChunks(key, counter, last, data) {
  if (!littleEndian) throw new Error("big-endian platform");
  if (key.byteLength !== 32) throw new Error("payload key of " + key.byteLength + " bytes");
  const src = new Uint8Array(data);
  const chunks = Math.max(1, Math.ceil(src.length / CHUNK));
  if (!last && src.length % CHUNK !== 0) throw new Error("not whole chunks");
  const out = new Uint8Array(src.length + chunks * TAG);
  const k = new Uint32Array(key.slice(0));
  const ks = new Uint32Array(16), ks8 = new Uint8Array(ks.buffer);
  const st = new Float64Array(30);
  const nonce = new Uint8Array(12), n32 = new Uint32Array(nonce.buffer);
  for (let i = 0; i < chunks; i++) {
    const c = counter + i;
    const hi = Math.floor(c / 4294967296), lo = c >>> 0;
    nonce.fill(0);
    nonce[3] = hi >>> 24; nonce[4] = hi >>> 16; nonce[5] = hi >>> 8; nonce[6] = hi;
    nonce[7] = lo >>> 24; nonce[8] = lo >>> 16; nonce[9] = lo >>> 8; nonce[10] = lo;
    nonce[11] = last && i === chunks - 1 ? 1 : 0;
    sealChunk(k, n32[0], n32[1], n32[2], src.subarray(i * CHUNK, Math.min(src.length, (i + 1) * CHUNK)),
      out, i * (CHUNK + TAG), ks, ks8, st);
  }
  return out.buffer;
}

postMessage({ ready: true });
