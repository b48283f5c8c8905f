package mcuimg

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"errors"
	"io"

	"trustforge/crypto/engine"
	"trustforge/internal/usererr"
)

// Sign makes a signed (and, with EncryptTo, encrypted) image of payload.
// With PadHeader false, payload must start with HeaderSize zero bytes.
func Sign(payload []byte, opts *SignOptions) ([]byte, error) {
	var buf bytes.Buffer
	p, err := opts.plan(int64(len(payload)))
	if err != nil {
		return nil, err
	}
	size := p.imageSize(p.unprotectedSize(72))
	if p.o.Pad {
		size = max(size, p.o.SlotSize)
	}
	buf.Grow(size)
	if _, err := p.run(context.Background(), &buf, bytes.NewReader(payload)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SignTo reads an input of size bytes from r and writes the image to w,
// streaming: memory use does not grow with the image, except for Pure
// signatures, which need the whole image at once. On error, w may have
// received part of an image. SignTo stops early when ctx is cancelled.
func SignTo(ctx context.Context, w io.Writer, r io.Reader, size int64, opts *SignOptions) (*SignResult, error) {
	p, err := opts.plan(size)
	if err != nil {
		return nil, err
	}
	return p.run(ctx, w, r)
}

// errWriter remembers the first write error so the streaming code can check once.
type errWriter struct {
	w   io.Writer
	n   int
	err error
}

// Write writes b unless an earlier write failed.
func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.n += n
	if err != nil {
		e.err = usererr.Errorf("mcuimg", "write: %w", err)
	}
	return n, e.err
}

func (p *plan) run(ctx context.Context, out io.Writer, r io.Reader) (*SignResult, error) {
	o := &p.o
	w := &errWriter{w: out}
	h := newHash(p.hashType)
	if p.hashType == TLVSHA256 {
		h = engine.Or(o.Engine).NewSHA256()
	}
	// The bytes the hash covers are also kept for a pure signature.
	var hashed io.Writer = h
	var pureBuf *bytes.Buffer
	if o.Pure {
		pureBuf = bytes.NewBuffer(make([]byte, 0, p.imageSize(0)))
		hashed = io.MultiWriter(h, pureBuf)
	}

	// Image key and its wrapping come first: they need randomness only.
	var encTLV TLV
	var stream cipher.Stream
	if o.EncryptTo != nil {
		aesKey := make([]byte, p.keyLen)
		if _, err := io.ReadFull(o.Rand, aesKey); err != nil {
			return nil, usererr.Errorf("mcuimg", "image key: %w", err)
		}
		var err error
		if encTLV, err = wrapKey(o.Rand, o.EncryptTo, aesKey); err != nil {
			return nil, err
		}
		if !o.Clear {
			// MCUboot's payload counter starts at zero.
			if stream, err = engine.Or(o.Engine).NewCTR(aesKey, make([]byte, aes.BlockSize)); err != nil {
				return nil, usererr.Errorf("mcuimg", "aes: %w", err)
			}
		}
	}

	hdr := Header{
		Magic:            Magic,
		LoadAddr:         o.LoadAddr,
		HeaderSize:       uint16(p.headerSize),
		ProtectedTLVSize: uint16(len(p.protected)),
		ImageSize:        uint32(p.payloadSize + p.encPad),
		Flags:            p.flags,
		Version:          o.Version,
	}
	if o.ROMFixed != 0 {
		hdr.LoadAddr = o.ROMFixed
	}
	area := make([]byte, p.headerSize)
	if o.PadHeader {
		for i := range area {
			area[i] = p.erased
		}
	} else {
		if _, err := io.ReadFull(r, area); err != nil {
			return nil, usererr.Errorf("mcuimg", "read header area: %w", err)
		}
		for i, c := range area {
			if c != 0 {
				return nil, usererr.Errorf("", "%w: input byte %#x at %#x is not zero; the header area must be zeros when the header is not padded in", ErrInvalidOption, c, i)
			}
		}
	}
	copy(area, hdr.Marshal())
	hashed.Write(area)
	w.Write(area)

	// Payload: hash the plaintext, write it encrypted.
	piece := chunkSize
	if o.Engine != nil && o.Engine != engine.Go {
		// Each call into a platform engine (WebCrypto) is a round trip
		// through a promise: hand it fewer, larger pieces.
		piece = engineChunkSize
	}
	buf := make([]byte, min(piece, max(p.payloadSize+p.encPad, 16)))
	enc := make([]byte, len(buf))
	remaining := p.payloadSize
	for remaining > 0 {
		if err := ctx.Err(); err != nil {
			return nil, usererr.Errorf("mcuimg", "sign: %w", err)
		}
		n := min(len(buf), remaining)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, usererr.Errorf("mcuimg", "input ended %d bytes early", remaining)
			}
			return nil, usererr.Errorf("mcuimg", "read payload: %w", err)
		}
		remaining -= n
		chunk := buf[:n]
		if remaining == 0 && p.encPad > 0 {
			chunk = append(chunk[:n:n], make([]byte, p.encPad)...)
		}
		hashed.Write(chunk)
		if stream != nil {
			e := enc
			if len(chunk) > len(e) {
				e = make([]byte, len(chunk))
			}
			stream.XORKeyStream(e[:len(chunk)], chunk)
			w.Write(e[:len(chunk)])
		} else {
			w.Write(chunk)
		}
		if w.err != nil {
			return nil, w.err
		}
	}
	if p.payloadSize == 0 && p.encPad > 0 {
		pad := make([]byte, p.encPad)
		hashed.Write(pad)
		if stream != nil {
			stream.XORKeyStream(pad, pad)
		}
		w.Write(pad)
	}
	if n, _ := r.Read(buf[:1]); n > 0 {
		return nil, usererr.Errorf("", "%w: input is longer than its declared size %d", ErrInvalidOption, p.inputSize)
	}
	hashed.Write(p.protected)
	w.Write(p.protected)
	digest := h.Sum(nil)

	// Unprotected TLVs, in imgtool's order.
	tlvs := []TLV{{Type: p.hashType, Value: digest}}
	if k := o.Key; k != nil {
		if o.Pure {
			tlvs = append(tlvs, TLV{Type: TLVSigPure, Value: []byte{1}})
		}
		spki := k.Public().SPKI()
		if o.PublicKeyFormat == KeyFormatFull {
			tlvs = append(tlvs, TLV{Type: TLVPubKey, Value: spki})
		} else {
			kh := newHash(p.hashType)
			kh.Write(spki)
			tlvs = append(tlvs, TLV{Type: TLVKeyHash, Value: kh.Sum(nil)})
		}
		sig, err := p.sign(digest, pureBuf)
		if err != nil {
			return nil, err
		}
		tlvs = append(tlvs, sig)
	}
	if o.EncryptTo != nil {
		tlvs = append(tlvs, encTLV)
	}
	unprot, err := encodeTLVArea(UnprotectedInfoMagic, tlvs)
	if err != nil {
		return nil, err
	}
	if err := p.checkFit(len(unprot)); err != nil {
		return nil, err
	}
	w.Write(unprot)
	if o.Pad {
		fill := o.SlotSize - p.trailerSize - w.n
		w.Write(bytes.Repeat([]byte{p.erased}, fill))
		w.Write(appendTrailer(nil, p.trailerSize, p.layout.MaxAlign, o.Confirm && !o.OverwriteOnly, p.erased))
	}
	if w.err != nil {
		return nil, w.err
	}
	return &SignResult{Header: hdr, HashType: p.hashType, Hash: digest, Size: w.n}, nil
}

// sign makes the signature TLV: ECDSA over the digest, Ed25519 over the
// digest as message, or Ed25519 over the hashed region when pure.
func (p *plan) sign(digest []byte, pureBuf *bytes.Buffer) (TLV, error) {
	signer, err := p.o.Key.Signer()
	if err != nil {
		return TLV{}, err
	}
	switch k := signer.(type) {
	case *ecdsa.PrivateKey:
		sig, err := ecdsa.SignASN1(p.o.Rand, k, digest)
		if err != nil {
			return TLV{}, usererr.Errorf("mcuimg", "sign: %w", err)
		}
		return TLV{Type: TLVECDSASig, Value: sig}, nil
	case ed25519.PrivateKey:
		msg := digest
		if pureBuf != nil {
			msg = pureBuf.Bytes()
		}
		return TLV{Type: TLVEd25519, Value: ed25519.Sign(k, msg)}, nil
	}
	return TLV{}, usererr.Errorf("", "%w: %T signer", ErrUnsupported, signer)
}
