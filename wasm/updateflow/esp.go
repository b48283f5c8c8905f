package updateflow

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"strings"
	"time"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
	"trustforge/devices/fwupdate"
	"trustforge/internal/usererr"
)

// ESPLink reaches an ESP32 board's serial port for the flow.
type ESPLink interface {
	// Open opens the board's serial port for its ROM loader, waiting
	// while the board is unplugged, until ctx ends. The transport may
	// drive DTR/RTS (esprom.Lines) to reset the chip, and may have a
	// Close method, which the flow calls when it is done with it.
	Open(ctx context.Context) (esprom.Transport, error)
}

// ErrUnsigned reports a flash set whose bootloader or app would not boot
// on a board with Secure Boot on: unsigned, or signed by a key whose digest
// the board does not hold. It comes wrapped in a *fwupdate.Refusal.
var ErrUnsigned = usererr.New("updateflow", "Secure Boot would refuse the flash set")

// ESP is an ESP32-family board reached through its ROM loader: a flash set
// release is written part by part at each part's offset, compressed, and
// each part's MD5 checked by the chip; parts the release marks for flash
// encryption are encrypted by the chip as it writes them when the board's
// flash encryption is on. The chip then restarts into its flash, and its
// boot log says whether the bootloader accepted the app and which version
// runs. A write cut by an unplug starts again, once the board is back,
// from the part it cut: a half-written app fails the bootloader's checks,
// so the board never boots a partial image.
type ESP struct {
	// Link reaches the board. Required.
	Link ESPLink
	// Reset is how the chip is reset into its ROM loader; the zero value
	// is esprom.ResetClassic (a USB-UART bridge's auto-reset circuit; the
	// other way is tried when it gets no answer).
	Reset esprom.ResetMode
	// BootTimeout bounds the wait for the boot log after the restart; zero
	// means 10 s.
	BootTimeout time.Duration

	t     esprom.Transport
	c     *esprom.Client
	ci    *esprom.ChipInfo
	ef    *esprom.Efuses
	parts []esprom.Part
	log   string
}

var _ Kind = (*ESP)(nil)

// Steps: write, restart into the flash, check the boot log. An ESP32 app
// has no test boot to confirm.
func (k *ESP) Steps() []Step { return []Step{StepUpload, StepTestBoot, StepRunning} }

// Chip returns what the check found of the chip (nil before).
func (k *ESP) Chip() *esprom.ChipInfo { return k.ci }

// Close lets go of the board's port.
func (k *ESP) Close() error {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
	var err error
	if cl, ok := k.t.(interface{ Close() error }); ok {
		err = cl.Close()
	}
	k.t = nil
	return err
}

// connect opens the port, resets the chip into its ROM loader, detects it
// and reads its eFuses.
func (k *ESP) connect(ctx context.Context) error {
	k.Close()
	t, err := k.Link.Open(ctx)
	if err != nil {
		return err
	}
	k.t, k.c = t, esprom.New(t, esprom.Options{})
	ci, err := k.c.Connect(ctx, k.Reset)
	if err != nil {
		k.Close()
		return err
	}
	k.ci, k.ef = ci, nil
	if !ci.SecureDownload && ci.Chip == espimg.ESP32C3 {
		if k.ef, err = k.c.ReadEfuses(ctx); err != nil {
			k.Close()
			return err
		}
	}
	return nil
}

// chipMatches reports whether a release's hardware name names chip:
// "ESP32-C3", "esp32c3" and "esp32-c3" all name the ESP32-C3.
func chipMatches(hw string, chip espimg.Chip) bool {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "") }
	return norm(hw) == norm(chip.String())
}

// Check detects the chip and checks the flash set against it before
// anything is written: the release's hardware, each part's chip and
// revision, the flash size, and with Secure Boot on each image's signature
// against the digests the board holds. A board whose flash already holds
// every part is refused as running this release.
func (k *ESP) Check(ctx context.Context, v *Verified) (Found, error) {
	var f Found
	m := v.Manifest
	if err := wrongFormat(m, true, "an ESP32 board"); err != nil {
		return f, err
	}
	if err := k.connect(ctx); err != nil {
		return f, err
	}
	ci := k.ci
	f.Node, f.Hardware = ci.MAC.String(), ci.Chip.String()
	if ci.MAC == nil {
		f.Node = ""
	}
	refuse := func(err error, format string, a ...any) (Found, error) {
		return f, &fwupdate.Refusal{Err: err, Reason: fmt.Sprintf(format, a...)}
	}
	if len(m.Hardware) > 0 {
		ok := false
		for _, hw := range m.Hardware {
			ok = ok || chipMatches(hw, ci.Chip)
		}
		if !ok {
			return refuse(fwupdate.ErrWrongHardware, "release %s is for %s, but this board is an %v", m.Version, strings.Join(m.Hardware, ", "), ci.Chip)
		}
	}
	parts, notes, err := k.plan(v)
	if err != nil {
		return f, err
	}
	if err := esprom.CheckParts(ci, parts, esprom.FlashOptions{}); err != nil {
		switch {
		case errors.Is(err, esprom.ErrWrongChip):
			return refuse(fwupdate.ErrWrongHardware, "%v; nothing was written", err)
		case errors.Is(err, esprom.ErrTooLarge):
			return refuse(esprom.ErrTooLarge, "%v; nothing was written", err)
		}
		return f, err
	}
	if ci.SecureBoot {
		if err := k.checkSignatures(parts); err != nil {
			return refuse(ErrUnsigned, "Secure Boot is on: %v; the board would not boot it, nothing was written", err)
		}
		notes = append(notes, "its bootloader and app signatures verify with the board's Secure Boot key digests")
	}
	if same, err := k.holds(ctx, parts); err != nil {
		return f, err
	} else if same {
		f.FromVersion = m.Version.String()
		return refuse(fwupdate.ErrSameVersion, "the board's flash already holds every part of release %s", m.Version)
	}
	k.parts = parts
	f.Detail = fmt.Sprintf("%v %v, MAC %s, %d MB flash, Secure Boot %s, flash encryption %s; the %d parts of release %s fit and are for this chip",
		ci.Chip, ci.Revision, ci.MAC, ci.FlashSize>>20, onOff(ci.SecureBoot), onOff(ci.FlashEncrypted), len(parts), m.Version)
	if len(notes) > 0 {
		f.Detail += "; " + strings.Join(notes, "; ")
	}
	return f, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// plan cuts the flash set into its parts and decides how each is written:
// a part marked for flash encryption is encrypted by the chip as it writes
// it when the board's flash encryption is on; with it off the part goes in
// the clear, as the bootloader encrypts it at its first boot.
func (k *ESP) plan(v *Verified) ([]esprom.Part, []string, error) {
	data := v.Image
	var parts []esprom.Part
	var clear []string
	for _, p := range v.Manifest.Parts {
		if int64(len(data)) < p.Size {
			return nil, nil, usererr.Errorf("updateflow", "the flash set ends inside part %q", p.Name)
		}
		part := esprom.Part{Name: p.Name, Offset: p.Offset, Data: data[:p.Size]}
		data = data[p.Size:]
		if p.Encrypt {
			if k.ci.FlashEncrypted {
				part.Encrypt = true
			} else {
				clear = append(clear, p.Name)
			}
		}
		parts = append(parts, part)
	}
	var notes []string
	if len(clear) > 0 {
		notes = append(notes, fmt.Sprintf("flash encryption is off on this board: %s, marked for encryption, go in the clear", strings.Join(clear, ", ")))
	}
	return parts, notes, nil
}

// checkSignatures verifies each ESP image of parts (the bootloader, apps)
// against the Secure Boot digests burned in the board.
func (k *ESP) checkSignatures(parts []esprom.Part) error {
	if k.ef == nil {
		return errors.New("the board's eFuses cannot be read to check the signatures against")
	}
	var digests [][32]byte
	for _, d := range k.ef.SecureBootDigests() {
		digests = append(digests, d)
	}
	for _, p := range parts {
		if len(p.Data) == 0 || p.Data[0] != espimg.Magic {
			continue
		}
		img, err := espimg.Parse(p.Data)
		if err != nil {
			continue // data that starts like an image
		}
		if img.Signature == nil {
			return usererr.Errorf("", "%s is not signed", p.Name)
		}
		if _, err := espimg.Verify(p.Data[:img.SignedLen+espimg.SectorSize], espimg.VerifyOptions{Digests: digests, Schemes: k.ci.Chip.SignatureSchemes()}); err != nil {
			return usererr.Errorf("", "%s: %v", p.Name, err)
		}
	}
	return nil
}

// holds reports whether the flash already holds every part, by the chip's
// MD5 (never for encrypted flash, whose MD5 is of the ciphertext, nor in
// Secure Download Mode, which refuses it).
func (k *ESP) holds(ctx context.Context, parts []esprom.Part) (bool, error) {
	if k.ci.SecureDownload || k.ci.FlashEncrypted {
		return false, nil
	}
	for _, p := range parts {
		got, err := k.c.FlashMD5(ctx, p.Offset, len(p.Data))
		if err != nil {
			return false, err
		}
		want := md5.Sum(p.Data)
		if !bytes.Equal(got, want[:]) {
			return false, nil
		}
	}
	return true, nil
}

// Write writes the parts, each verified by the chip's MD5. When the link
// breaks it waits for the board, resets it into the ROM loader again and
// goes on from the part it cut.
func (k *ESP) Write(ctx context.Context, v *Verified, emit func(Event)) (string, error) {
	start := time.Now()
	total := int64(0)
	for _, p := range k.parts {
		total += int64(len(p.Data))
	}
	encrypt := false
	for _, p := range k.parts {
		encrypt = encrypt || p.Encrypt
	}
	left := k.parts
	restarts, sent := 0, 0
	verified := true
	for {
		if k.c == nil {
			if err := k.connect(ctx); err != nil {
				return "", err
			}
		}
		before := int64(0)
		for _, p := range k.parts[:len(k.parts)-len(left)] {
			before += int64(len(p.Data))
		}
		ps := time.Now()
		cur := before
		res, err := k.c.Flash(ctx, k.ci, left, esprom.FlashOptions{
			// The ROM encrypts whole 16-byte units as it writes: send
			// plain blocks, which arrive whole, when it encrypts.
			Uncompressed: encrypt,
			Progress: func(name string, done, size int) {
				for i, p := range left {
					if p.Name == name {
						cur = before
						for _, q := range left[:i] {
							cur += int64(len(q.Data))
						}
						cur += int64(done)
					}
				}
				emit(progressEvent(ps, cur, total))
			}})
		sent += res.Sent
		if err == nil {
			verified = verified && res.Verified
			break
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if errors.Is(err, esprom.ErrWrongChip) || errors.Is(err, esprom.ErrTooLarge) || errors.Is(err, esprom.ErrOverlap) ||
			errors.Is(err, esprom.ErrSecureDownload) || restarts >= maxRestarts {
			return "", err
		}
		if res.PartsDone > 0 {
			verified = false // only the last run's result says whether all were checked
		}
		left = left[res.PartsDone:]
		restarts++
		k.Close()
		emit(Event{Step: StepUpload, Unplugged: true, Detail: fmt.Sprintf(
			"the link broke while writing %s (%v): plug the board back in and the write starts again from that part; the bootloader refuses a half-written app", left[0].Name, err)})
	}
	detail := fmt.Sprintf("%d parts, %d bytes (%d sent compressed) in %.1f s", len(k.parts), total, sent, time.Since(start).Seconds())
	switch {
	case encrypt:
		detail += "; parts marked for flash encryption were encrypted by the chip as it wrote them, the others checked with the chip's MD5"
	case verified:
		detail += ", each verified with the chip's MD5"
	case restarts == 0:
		detail += ", not verified (Secure Download Mode refuses MD5)"
	}
	if restarts > 0 {
		detail += fmt.Sprintf("; started again %d time(s) from the part the link broke in", restarts)
	}
	return detail, nil
}

// Boot leaves the ROM loader: the chip restarts into its flash. It waits
// for the bootloader's verdict in the boot log.
func (k *ESP) Boot(ctx context.Context, v *Verified) (string, error) {
	if k.c == nil {
		return "", usererr.New("updateflow", "the board is no longer connected")
	}
	k.c.Console() // what came before the restart
	if err := k.c.FlashEnd(ctx, true); err != nil {
		return "", err
	}
	t := k.BootTimeout
	if t <= 0 {
		t = 10 * time.Second
	}
	deadline := time.Now().Add(t)
	var log strings.Builder
	for {
		log.WriteString(k.c.Console())
		s := log.String()
		if strings.Contains(s, "App version:") || strings.Contains(s, "E (") {
			// Let the rest of the lines arrive.
			if err := sleep(ctx, 50*time.Millisecond); err != nil {
				return "", err
			}
			log.WriteString(k.c.Console())
			break
		}
		if time.Now().After(deadline) {
			break
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return "", err
		}
	}
	k.log = log.String()
	if k.log == "" {
		return "the chip restarted into its flash; it printed no boot log", nil
	}
	return "the chip restarted into its flash", nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Running reads the boot log: the bootloader's refusal, or the version the
// app says it is.
func (k *ESP) Running(ctx context.Context, v *Verified) (string, error) {
	defer k.Close()
	version, project, refusal := parseBootLog(k.log)
	switch {
	case refusal != "":
		return "", usererr.Errorf("", "%w: the bootloader refused it: %s", fwupdate.ErrNotBooted, refusal)
	case version == "":
		return "", usererr.Errorf("", "%w: the board's boot log names no app version (is the serial console on this port?)", fwupdate.ErrNotBooted)
	}
	if err := versionIs(version, v.Manifest.Version); err != nil {
		return "", err
	}
	if project != "" {
		return fmt.Sprintf("the board runs %s %s", project, version), nil
	}
	return "the board runs " + version, nil
}

// parseBootLog reads an ESP-IDF boot log: the version and project name
// the app prints as it starts, or the second stage bootloader's error line
// when it refused to start it.
func parseBootLog(log string) (version, project, refusal string) {
	after := func(line, key string) string {
		return strings.TrimSpace(line[strings.Index(line, key)+len(key):])
	}
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "E (") && strings.Contains(line, "boot:"):
			refusal = after(line, "boot:")
		case strings.Contains(line, "App version:"):
			version = after(line, "App version:")
		case strings.Contains(line, "Project name:"):
			project = after(line, "Project name:")
		}
	}
	return version, project, refusal
}

// Confirm is not a step of an ESP32 board.
func (k *ESP) Confirm(context.Context, *Verified) (string, error) {
	return "", usererr.New("updateflow", "an ESP32 app has no test boot to confirm")
}
