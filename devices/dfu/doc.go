// Package dfu drives USB Device Firmware Upgrade (DFU 1.1) devices and ST's
// DfuSe extension of it, and reads and writes the files they are flashed
// from: raw binaries, Intel HEX and DfuSe .dfu files.
//
// A device is reached through Control, a small interface of USB control
// transfers that WebUSB in the browser (devices/webusb), the Linux usbfs
// backend (devices/dfu/usbfs) and the simulator (devices/sim) satisfy. On
// it, Device runs the DFU state machine: DNLOAD, UPLOAD, GETSTATUS (waiting
// each bwPollTimeout the device asks for before it polls again), CLRSTATUS,
// GETSTATE, ABORT and DETACH. Describe reads a device's configuration
// descriptor and names its alternate settings; Layout parses the DfuSe
// memory layout strings those names carry. Every DFU status code a device
// reports becomes a StatusError with a message a person can act on, and a
// device that disappears mid-transfer is reported as ErrDisconnected with
// where the transfer stopped.
//
// Security: DFU has no authentication. What a device accepts is whatever
// its bootloader checks: an MCUboot slot is verified by MCUboot at the next
// boot, a DfuSe system bootloader writes anything it is given. Read back
// (Device.Verify) proves what the flash holds, not who made it. Read-out
// protection (SetRDP) is the one step here that cannot be undone without
// erasing the part, and level 2 not at all.
package dfu
