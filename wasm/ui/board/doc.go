// Package board holds the console's board components that more than one
// page uses: the device kit (the board link and the field stores, one per
// tab), the connection panel, the ESP32 panel with its provisioning steps,
// the USB DFU session, the ways the update flow and station mode open a
// board, and the upload limits and progress both the Devices page and the
// update flow show.
//
// The Devices, Identity, update and Station pages import board; board
// imports kit and no page.
package board
