// Package smp is a client of the Simple Management Protocol (SMP, the
// mcumgr protocol) that Zephyr, nRF Connect SDK and MCUboot serial recovery
// boards answer, spoken over the SMP serial framing on any byte transport: a
// host serial port, a pseudo-terminal, the browser's Web Serial port or the
// board simulator.
//
// A Client matches answers to requests by sequence number, bounds every
// request with a timeout, and sends a request again after a timeout only when
// doing so cannot change the board twice: reads, echo, image state writes,
// erase and upload chunks (which the board places by offset) are retried;
// reset never is. Board errors come back as *Error, named after the status
// code the board sent, for both SMP version 1 ("rc") and version 2 ("err")
// answers, in definite- or indefinite-length CBOR.
//
// Upload sizes its packets from the buffer size the board reports, keeps as
// many requests in flight as the board has buffers, reports progress, and
// resumes an interrupted upload from the offset the board holds, whether the
// link dropped or the client itself was restarted.
//
// The client does not trust what it uploads to be valid: the board's
// bootloader verifies the image. The SHA-256 of the whole upload is sent with
// the first chunk so that a board can resume the right upload and check what
// it received.
package smp
