// Package fwupdate updates a board's firmware over SMP, the way the console
// and a field technician do it: read what the board is and runs (Summary),
// decide whether a release may go on it (Check: no downgrades, no image for
// other hardware), then flash it step by step — upload (resuming from the
// board's offset after an unplug), mark it for a test boot, reset, check
// that the new version runs, confirm it — and keep a Record of what
// happened, which the technician saves and the release server's audit log
// receives.
//
// It is plain Go over devices/smp: the console runs it in the browser over
// Web Serial, WebUSB or the simulated board's WebSocket, and its tests run
// it natively against devices/sim.
//
// Security: Check protects boards from mistakes, not from attackers. What
// the board runs is decided by its bootloader, which verifies the image's
// signature; the release's own signature and hashes are verified before an
// image reaches this package (crypto/bundle).
package fwupdate
