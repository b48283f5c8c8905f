package sim

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"trustforge/devices/provision"
	"trustforge/devices/smp"
)

// smpError is the error a handler answers with: an rc of the protocol, or a
// group-specific code.
type smpError struct {
	rc    smp.RC    // non-zero for a protocol error
	group smp.Group // of a group error
	code  int       // of a group error
	rsn   string    // the reason given with it, if any
}

func rcError(rc smp.RC) *smpError { return &smpError{rc: rc} }

func imgError(code int, rsn string) *smpError {
	return &smpError{group: smp.GroupImage, code: code, rsn: rsn}
}

func osError(code int) *smpError { return &smpError{group: smp.GroupOS, code: code} }

// legacyRC translates a group error into the rc an SMP version 1 client
// gets, as Zephyr's group translation functions do.
func (e *smpError) legacyRC() smp.RC {
	switch e.group {
	case smp.GroupImage:
		switch e.code {
		case smp.ImageErrNoImage, smp.ImageErrNoTLVs:
			return smp.RCNoEntry
		case smp.ImageErrNoFreeSlot, smp.ImageErrCurrentVersionNewer, smp.ImageErrAlreadyPending:
			return smp.RCBadState
		case smp.ImageErrNoFreeMemory:
			return smp.RCNoMemory
		case smp.ImageErrInvalidSlot, smp.ImageErrInvalidPageOffset, smp.ImageErrInvalidOffset,
			smp.ImageErrInvalidLength, smp.ImageErrInvalidHeader, smp.ImageErrInvalidHash,
			smp.ImageErrInvalidFlashAddress:
			return smp.RCInvalid
		}
	case provision.Group:
		return provision.LegacyRC(e.code)
	case smp.GroupOS:
		switch e.code {
		case smp.OSErrInvalidFormat:
			return smp.RCInvalid
		case smp.OSErrNoAnswer, smp.OSErrRTCNotSet, smp.OSErrQueryValueValid:
			return smp.RCNoEntry
		}
	}
	return smp.RCUnknown
}

// request is one decoded SMP request.
type request struct {
	hdr  smp.Header
	body []byte
}

// decode decodes the request body into v; a body that does not decode is
// answered with MGMT_ERR_EINVAL, as Zephyr's bulk map decoder does.
func (r request) decode(v any) *smpError {
	if err := cbor.Unmarshal(r.body, v); err != nil {
		return rcError(smp.RCInvalid)
	}
	return nil
}

// handler serves one command. It may return a function to run once the
// answer is sent (a reset).
type handler func(b *Board, r request) (imap, func(), *smpError)

type route struct {
	group smp.Group
	id    uint8
	op    smp.Op
}

var routes = map[route]handler{
	{smp.GroupOS, smp.CmdEcho, smp.OpWrite}:           (*Board).osEcho,
	{smp.GroupOS, smp.CmdReset, smp.OpWrite}:          (*Board).osReset,
	{smp.GroupOS, smp.CmdParams, smp.OpRead}:          (*Board).osParams,
	{smp.GroupOS, smp.CmdInfo, smp.OpRead}:            (*Board).osInfo,
	{smp.GroupOS, smp.CmdBootloaderInfo, smp.OpRead}:  (*Board).osBootloaderInfo,
	{smp.GroupImage, smp.CmdImageState, smp.OpRead}:   (*Board).imgStateRead,
	{smp.GroupImage, smp.CmdImageState, smp.OpWrite}:  (*Board).imgStateWrite,
	{smp.GroupImage, smp.CmdImageUpload, smp.OpWrite}: (*Board).imgUpload,
	{smp.GroupImage, smp.CmdImageErase, smp.OpWrite}:  (*Board).imgErase,
	{smp.GroupImage, smp.CmdSlotInfo, smp.OpRead}:     (*Board).imgSlotInfo,
}

// routeFor returns the handler of a command, in the OS and image groups or
// the provisioning group.
func routeFor(r route) handler {
	if h := routes[r]; h != nil {
		return h
	}
	return provisionRoutes[r]
}

// handleLocked answers one packet. It returns nil for packets that get no
// answer.
func (b *Board) handleLocked(pkt []byte) (answer []byte, after func()) {
	h, body, err := smp.DecodePacket(pkt)
	if err != nil || h.Op != smp.OpRead && h.Op != smp.OpWrite {
		b.logf("ignored a packet that is not a request: %v", err)
		return nil, nil
	}
	var (
		m    imap
		serr *smpError
	)
	if h.Version > 1 {
		serr = rcError(smp.RCProtocolTooNew)
		h.Version = 1
	} else if hd := routeFor(route{h.Group, h.ID, h.Op}); hd == nil {
		serr = rcError(smp.RCNotSupported)
	} else {
		m, after, serr = hd(b, request{hdr: h, body: body})
	}
	if serr != nil {
		after = nil
		m = b.errorMap(h, serr)
	}
	out, err := cbor.Marshal(m)
	if err != nil {
		b.logf("encoding an answer: %v", err)
		return nil, nil
	}
	h.Op++
	answer, err = smp.EncodePacket(h, out)
	if err != nil {
		b.logf("encoding an answer: %v", err)
		return nil, nil
	}
	return answer, after
}

// errorMap encodes e for the request's SMP version.
func (b *Board) errorMap(h smp.Header, e *smpError) imap {
	var m imap
	switch {
	case e.rc != 0:
		m = imap{{"rc", int(e.rc)}}
	case h.Version == 0:
		m = imap{{"rc", int(e.legacyRC())}}
	default:
		m = imap{{"err", imap{{"group", int(e.group)}, {"rc", e.code}}}}
	}
	if e.rsn != "" {
		m = append(m, kv{"rsn", e.rsn})
	}
	return m
}

// String is used in the simulator's log.
func (e *smpError) String() string {
	if e.rc != 0 {
		return e.rc.String()
	}
	return fmt.Sprintf("%s error %d", e.group, e.code)
}
