// trustforge: SHA digests of long inputs, off the page's thread.
//
// Chromium runs crypto.subtle.digest on the thread that calls it, and it is
// one-shot: hashing a 64 MiB image on the page froze it for a quarter of a
// second and more. The console (internal/browser's Sink) transfers the
// input here in 1 MiB pieces as it is produced (no copy), then asks for the
// digest; this worker joins the pieces and digests them on its own thread.
//
// Messages in:  {op: "add", id, data: ArrayBuffer}   a piece of input id
//               {op: "digest", id, alg}               digest input id, forget it
//               {op: "take", id}                      give input id's pieces back
//               {op: "drop", id}                      forget input id
// Messages out: {ready: true}                         once, at start
//               {id, sum: ArrayBuffer}                the digest
//               {id, error, parts: [ArrayBuffer]}     digest failed: the input back
//               {id, parts: [ArrayBuffer]}            answer to take
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

postMessage({ ready: true });
