package mcuimg

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"errors"
	"hash"
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

// signing is one run of a plan: where the image goes, what its hash
// covers and the payload's cipher.
type signing struct {
	*plan
	w       *errWriter
	h       hash.Hash     // the image hash
	hashed  io.Writer     // h, and pureBuf for a pure signature
	pureBuf *bytes.Buffer // the hashed bytes, for a pure signature; else nil
	stream  cipher.Stream // the payload's AES-CTR; nil in the clear
	encTLV  TLV           // the wrapped image key, with EncryptTo
}

// run writes the image of the input in r to out: header area, payload,
// protected TLVs, unprotected TLVs and, with Pad, the slot's rest.
func (p *plan) run(ctx context.Context, out io.Writer, r io.Reader) (*SignResult, error) {
	s := &signing{plan: p, w: &errWriter{w: out}, h: newHash(p.hashType)}
	if p.hashType == TLVSHA256 {
		s.h = engine.Or(p.o.Engine).NewSHA256()
		engine.Expect(s.h, int64(p.imageSize(0)))
	}
	// The bytes the hash covers are also kept for a pure signature.
	s.hashed = s.h
	if p.o.Pure {
		s.pureBuf = bytes.NewBuffer(make([]byte, 0, p.imageSize(0)))
		s.hashed = io.MultiWriter(s.h, s.pureBuf)
	}
	// Image key and its wrapping come first: they need randomness only.
	if err := s.imageKey(); err != nil {
		return nil, err
	}
	hdr, err := s.writeHeader(r)
	if err != nil {
		return nil, err
	}
	if err := s.writePayload(ctx, r); err != nil {
		return nil, err
	}
	s.hashed.Write(p.protected)
	s.w.Write(p.protected)
	digest := s.h.Sum(nil)
	if err := s.writeUnprotected(digest); err != nil {
		return nil, err
	}
	if p.o.Pad {
		fill := p.o.SlotSize - p.trailerSize - s.w.n
		s.w.Write(bytes.Repeat([]byte{p.erased}, fill))
		s.w.Write(appendTrailer(nil, p.trailerSize, p.layout.MaxAlign, p.o.Confirm && !p.o.OverwriteOnly, p.erased))
	}
	if s.w.err != nil {
		return nil, s.w.err
	}
	return &SignResult{Header: hdr, HashType: p.hashType, Hash: digest, Size: s.w.n}, nil
}

// imageKey draws the AES image key, wraps it for EncryptTo and, unless
// the payload stays clear, starts the payload's cipher.
func (s *signing) imageKey() error {
	o := &s.o
	if o.EncryptTo == nil {
		return nil
	}
	aesKey := make([]byte, s.keyLen)
	if _, err := io.ReadFull(o.Rand, aesKey); err != nil {
		return usererr.Errorf("mcuimg", "image key: %w", err)
	}
	var err error
	if s.encTLV, err = wrapKey(o.Rand, o.EncryptTo, aesKey); err != nil {
		return err
	}
	if o.Clear {
		return nil
	}
	// MCUboot's payload counter starts at zero.
	if s.stream, err = engine.Or(o.Engine).NewCTR(aesKey, make([]byte, aes.BlockSize)); err != nil {
		return usererr.Errorf("mcuimg", "aes: %w", err)
	}
	return nil
}

// writeHeader writes the header area: the header, then erased bytes with
// PadHeader, or else the input's own header area, which must be zeros.
func (s *signing) writeHeader(r io.Reader) (Header, error) {
	o := &s.o
	hdr := Header{
		Magic:            Magic,
		LoadAddr:         o.LoadAddr,
		HeaderSize:       uint16(s.headerSize),
		ProtectedTLVSize: uint16(len(s.protected)),
		ImageSize:        uint32(s.payloadSize + s.encPad),
		Flags:            s.flags,
		Version:          o.Version,
	}
	if o.ROMFixed != 0 {
		hdr.LoadAddr = o.ROMFixed
	}
	area := make([]byte, s.headerSize)
	if o.PadHeader {
		for i := range area {
			area[i] = s.erased
		}
	} else {
		if _, err := io.ReadFull(r, area); err != nil {
			return Header{}, usererr.Errorf("mcuimg", "read header area: %w", err)
		}
		for i, c := range area {
			if c != 0 {
				return Header{}, usererr.Errorf("", "%w: input byte %#x at %#x is not zero; the header area must be zeros when the header is not padded in", ErrInvalidOption, c, i)
			}
		}
	}
	copy(area, hdr.Marshal())
	s.hashed.Write(area)
	s.w.Write(area)
	return hdr, nil
}

// writePayload hashes the plaintext payload and writes it, encrypted when
// there is a cipher, padded to whole AES blocks; it refuses an input that
// ends early or runs past its declared size.
func (s *signing) writePayload(ctx context.Context, r io.Reader) error {
	piece := chunkSize
	if s.o.Engine != nil && s.o.Engine != engine.Go {
		// Each call into a platform engine (WebCrypto) is a round trip
		// through a promise: hand it fewer, larger pieces.
		piece = engineChunkSize
	}
	buf := make([]byte, min(piece, max(s.payloadSize+s.encPad, 16)))
	enc := make([]byte, len(buf))
	remaining := s.payloadSize
	for remaining > 0 {
		if err := ctx.Err(); err != nil {
			return usererr.Errorf("mcuimg", "sign: %w", err)
		}
		n := min(len(buf), remaining)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return usererr.Errorf("mcuimg", "input ended %d bytes early", remaining)
			}
			return usererr.Errorf("mcuimg", "read payload: %w", err)
		}
		remaining -= n
		chunk := buf[:n]
		if remaining == 0 && s.encPad > 0 {
			chunk = append(chunk[:n:n], make([]byte, s.encPad)...)
		}
		if len(chunk) > len(enc) {
			enc = make([]byte, len(chunk))
		}
		s.writeChunk(chunk, enc)
		if s.w.err != nil {
			return s.w.err
		}
	}
	if s.payloadSize == 0 && s.encPad > 0 {
		s.writeChunk(make([]byte, s.encPad), enc)
	}
	if n, _ := r.Read(buf[:1]); n > 0 {
		return usererr.Errorf("", "%w: input is longer than its declared size %d", ErrInvalidOption, s.inputSize)
	}
	return nil
}

// writeChunk hashes a piece of plaintext payload and writes it, through
// the cipher into enc (at least as long as chunk) when there is one.
func (s *signing) writeChunk(chunk, enc []byte) {
	switch {
	case s.stream == nil:
		s.hashed.Write(chunk)
		s.w.Write(chunk)
		return
	case s.pureBuf == nil && s.hashType == TLVSHA256:
		// The engine's hash and cipher: in one pass where it can.
		engine.HashXORKeyStream(engine.Or(s.o.Engine), s.h, s.stream, enc[:len(chunk)], chunk)
	default:
		s.hashed.Write(chunk)
		s.stream.XORKeyStream(enc[:len(chunk)], chunk)
	}
	s.w.Write(enc[:len(chunk)])
}

// writeUnprotected writes the unprotected TLV area, in imgtool's order:
// hash, then with a key its name and signature, then the wrapped image key.
func (s *signing) writeUnprotected(digest []byte) error {
	o := &s.o
	tlvs := []TLV{{Type: s.hashType, Value: digest}}
	if k := o.Key; k != nil {
		if o.Pure {
			tlvs = append(tlvs, TLV{Type: TLVSigPure, Value: []byte{1}})
		}
		spki := k.Public().SPKI()
		if o.PublicKeyFormat == KeyFormatFull {
			tlvs = append(tlvs, TLV{Type: TLVPubKey, Value: spki})
		} else {
			kh := newHash(s.hashType)
			kh.Write(spki)
			tlvs = append(tlvs, TLV{Type: TLVKeyHash, Value: kh.Sum(nil)})
		}
		sig, err := s.sign(digest, s.pureBuf)
		if err != nil {
			return err
		}
		tlvs = append(tlvs, sig)
	}
	if o.EncryptTo != nil {
		tlvs = append(tlvs, s.encTLV)
	}
	unprot, err := encodeTLVArea(UnprotectedInfoMagic, tlvs)
	if err != nil {
		return err
	}
	if err := s.checkFit(len(unprot)); err != nil {
		return err
	}
	s.w.Write(unprot)
	return nil
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
