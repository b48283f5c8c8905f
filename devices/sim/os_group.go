package sim

import (
	"strings"
	"time"

	"trustforge/devices/smp"
)

func (b *Board) osEcho(r request) (imap, func(), *smpError) {
	var req struct {
		D *string `cbor:"d"`
	}
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if req.D == nil {
		return nil, nil, rcError(smp.RCInvalid)
	}
	return imap{{"r", *req.D}}, nil, nil
}

// resetMargin lets the last byte of the reset's answer leave the UART, and
// the host's side of the link take it, before the reset cuts it. Zephyr
// waits 250 ms (CONFIG_MCUMGR_GRP_OS_RESET_MS); 50 ms keeps a loaded
// machine's scheduling delays from cutting the answer.
const resetMargin = 50 * time.Millisecond

// osReset answers, then resets the board once the answer is on the wire.
func (b *Board) osReset(r request) (imap, func(), *smpError) {
	var req struct {
		Force int `cbor:"force"`
	}
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	return imap{}, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		at := b.txFree.Add(b.cfg.ResetDelay + resetMargin)
		gen := b.gen
		b.afterLocked(max(0, timeUntil(at)), func() {
			if b.gen == gen && b.powered {
				b.logf("reset requested over SMP")
				b.resetLocked(0)
			}
		})
	}, nil
}

func (b *Board) osParams(r request) (imap, func(), *smpError) {
	return imap{{"buf_size", b.cfg.BufSize}, {"buf_count", b.cfg.BufCount}}, nil, nil
}

// osInfo answers like uname, the fields in their natural order whatever the
// order of the format letters.
func (b *Board) osInfo(r request) (imap, func(), *smpError) {
	var req struct {
		Format string `cbor:"format"`
	}
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if req.Format == "" {
		req.Format = "s"
	}
	fields := []struct {
		letter byte
		value  string
	}{
		{'s', "Zephyr"},
		{'n', b.cfg.Name},
		{'r', "3.7.0"},
		{'v', "trustforge-sim"},
		{'b', "2025-01-01T00:00:00"},
		{'m', "sim"},
		{'p', "trustforge board simulator"},
		{'i', "trustforge_sim"},
		{'o', "Zephyr"},
	}
	want := map[byte]bool{}
	for i := range len(req.Format) {
		c := req.Format[i]
		switch {
		case c == 'a':
			for _, f := range fields {
				want[f.letter] = true
			}
		case strings.IndexByte("snrvbmpio", c) >= 0:
			want[c] = true
		default:
			return nil, nil, osError(smp.OSErrInvalidFormat)
		}
	}
	var out []string
	for _, f := range fields {
		if want[f.letter] {
			out = append(out, f.value)
		}
	}
	return imap{{"output", strings.Join(out, " ")}}, nil, nil
}

// bootModeSwapMove is the MCUboot mode the board reports: swap without a
// scratch partition.
const bootModeSwapMove = 3

func (b *Board) osBootloaderInfo(r request) (imap, func(), *smpError) {
	var req struct {
		Query string `cbor:"query"`
	}
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	switch req.Query {
	case "":
		return imap{{"bootloader", "MCUboot"}}, nil, nil
	case "mode":
		return imap{{"mode", bootModeSwapMove}}, nil, nil
	}
	return nil, nil, osError(smp.OSErrNoAnswer)
}
