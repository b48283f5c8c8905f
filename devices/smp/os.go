package smp

import (
	"context"
	"fmt"

	"trustforge/internal/usererr"
)

// Commands of the OS group.
const (
	CmdEcho           = 0
	CmdReset          = 5
	CmdParams         = 6
	CmdInfo           = 7
	CmdBootloaderInfo = 8
)

// Echo sends s to the board and returns what it echoes back.
func (c *Client) Echo(ctx context.Context, s string) (string, error) {
	var resp struct {
		R string `cbor:"r"`
	}
	err := c.Do(ctx, Request{
		Name: "echo", Op: OpWrite, Group: GroupOS, ID: CmdEcho,
		Body: struct {
			D string `cbor:"d"`
		}{s},
		Idempotent: true,
	}, &resp)
	return resp.R, err
}

// Reset asks the board to restart; it answers first, then resets. force
// asks it to reset even when an application hook would refuse. Reset is
// never sent twice: a repeated reset could undo a test boot.
func (c *Client) Reset(ctx context.Context, force bool) error {
	var body any
	if force {
		body = struct {
			Force int `cbor:"force"`
		}{1}
	}
	return c.Do(ctx, Request{Name: "reset", Op: OpWrite, Group: GroupOS, ID: CmdReset, Body: body}, nil)
}

// Params is what a board tells of its SMP buffers.
type Params struct {
	// BufSize is the size of one SMP buffer: the largest packet, header
	// and CBOR body, the board accepts.
	BufSize int `cbor:"buf_size"`
	// BufCount is how many buffers the board has: how many requests may
	// be in flight at once.
	BufCount int `cbor:"buf_count"`
}

// Params reads the board's SMP buffer parameters.
func (c *Client) Params(ctx context.Context) (Params, error) {
	var p Params
	err := c.Do(ctx, Request{Name: "mcumgr params", Op: OpRead, Group: GroupOS, ID: CmdParams, Idempotent: true}, &p)
	return p, err
}

// Info returns the board's OS and application information, like uname.
// format selects fields (s kernel name, n node name, r kernel release,
// v kernel version, b build time, m machine, p processor, i hardware
// platform, o operating system, a all); empty means the board's default.
func (c *Client) Info(ctx context.Context, format string) (string, error) {
	var body any
	if format != "" {
		body = struct {
			Format string `cbor:"format"`
		}{format}
	}
	var resp struct {
		Output string `cbor:"output"`
	}
	err := c.Do(ctx, Request{Name: "os info", Op: OpRead, Group: GroupOS, ID: CmdInfo, Body: body, Idempotent: true}, &resp)
	return resp.Output, err
}

// Bootloader returns the name of the board's bootloader, such as "MCUboot".
func (c *Client) Bootloader(ctx context.Context) (string, error) {
	var resp struct {
		Bootloader string `cbor:"bootloader"`
	}
	err := c.Do(ctx, Request{Name: "bootloader info", Op: OpRead, Group: GroupOS, ID: CmdBootloaderInfo, Idempotent: true}, &resp)
	return resp.Bootloader, err
}

// BootMode is MCUboot's mode of operation.
type BootMode int

// MCUboot modes, as the bootloader info "mode" query reports them.
const (
	BootModeUnknown         BootMode = -1
	BootModeSingle          BootMode = 0
	BootModeSwapScratch     BootMode = 1
	BootModeOverwrite       BootMode = 2
	BootModeSwapMove        BootMode = 3
	BootModeDirectXIP       BootMode = 4
	BootModeDirectXIPRevert BootMode = 5
	BootModeRAMLoad         BootMode = 6
)

// String describes the mode.
func (m BootMode) String() string {
	switch m {
	case BootModeSingle:
		return "single application"
	case BootModeSwapScratch:
		return "swap using scratch"
	case BootModeOverwrite:
		return "overwrite (upgrade only)"
	case BootModeSwapMove:
		return "swap without scratch"
	case BootModeDirectXIP:
		return "direct-XIP"
	case BootModeDirectXIPRevert:
		return "direct-XIP with revert"
	case BootModeRAMLoad:
		return "RAM load"
	case BootModeUnknown:
		return "unknown"
	}
	return fmt.Sprintf("mode %d", int(m))
}

// BootloaderMode asks an MCUboot board for its mode of operation, and
// whether it refuses downgrades.
func (c *Client) BootloaderMode(ctx context.Context) (mode BootMode, noDowngrade bool, err error) {
	var resp struct {
		Mode        *int `cbor:"mode"`
		NoDowngrade bool `cbor:"no-downgrade"`
	}
	err = c.Do(ctx, Request{
		Name: "bootloader mode", Op: OpRead, Group: GroupOS, ID: CmdBootloaderInfo,
		Body: struct {
			Query string `cbor:"query"`
		}{"mode"},
		Idempotent: true,
	}, &resp)
	if err != nil {
		return BootModeUnknown, false, err
	}
	if resp.Mode == nil {
		return BootModeUnknown, false, usererr.Errorf("smp", "bootloader mode: the answer has no mode")
	}
	return BootMode(*resp.Mode), resp.NoDowngrade, nil
}
