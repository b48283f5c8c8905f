package smp

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"trustforge/internal/usererr"
)

// Commands of the image group.
const (
	CmdImageState  = 0
	CmdImageUpload = 1
	CmdImageErase  = 5
	CmdSlotInfo    = 6
)

// SlotImage describes the image in one slot, as the board reports it.
type SlotImage struct {
	Image     int    `cbor:"image"`
	Slot      int    `cbor:"slot"`
	Version   string `cbor:"version"`
	Hash      []byte `cbor:"hash"` // the image's SHA256 TLV
	Bootable  bool   `cbor:"bootable"`
	Pending   bool   `cbor:"pending"`   // will be swapped in at the next reset
	Confirmed bool   `cbor:"confirmed"` // stays after the next reset
	Active    bool   `cbor:"active"`    // running now
	Permanent bool   `cbor:"permanent"` // pending, and needs no confirmation
}

// Flags lists the slot's set flags in words.
func (s SlotImage) Flags() string {
	var f []string
	for _, x := range []struct {
		set  bool
		name string
	}{{s.Active, "active"}, {s.Confirmed, "confirmed"}, {s.Pending, "pending"}, {s.Permanent, "permanent"}, {!s.Bootable, "not bootable"}} {
		if x.set {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, ", ")
}

// String formats the slot as one line.
func (s SlotImage) String() string {
	return fmt.Sprintf("image %d slot %d: version %s hash %s [%s]", s.Image, s.Slot, s.Version, hex.EncodeToString(s.Hash), s.Flags())
}

type stateAnswer struct {
	Images []SlotImage `cbor:"images"`
}

// ImageState lists the images in the board's slots.
func (c *Client) ImageState(ctx context.Context) ([]SlotImage, error) {
	var resp stateAnswer
	err := c.Do(ctx, Request{Name: "image list", Op: OpRead, Group: GroupImage, ID: CmdImageState, Idempotent: true}, &resp)
	return resp.Images, err
}

type stateWrite struct {
	Hash    []byte `cbor:"hash,omitempty"`
	Confirm bool   `cbor:"confirm"`
}

// TestImage marks the image with hash (its SHA256 TLV) to be booted once at
// the next reset; unless the running image then confirms it, the board goes
// back to the current image at the reset after. It returns the new state.
func (c *Client) TestImage(ctx context.Context, hash []byte) ([]SlotImage, error) {
	if len(hash) == 0 {
		return nil, usererr.Errorf("smp", "image test: no hash given")
	}
	var resp stateAnswer
	err := c.Do(ctx, Request{
		Name: "image test", Op: OpWrite, Group: GroupImage, ID: CmdImageState,
		Body: stateWrite{Hash: hash}, Idempotent: true,
	}, &resp)
	return resp.Images, err
}

// ConfirmImage makes the image with hash permanent: the running image stays
// after resets, or an image in the other slot is swapped in for good. A nil
// hash confirms the running image. It returns the new state.
func (c *Client) ConfirmImage(ctx context.Context, hash []byte) ([]SlotImage, error) {
	var resp stateAnswer
	err := c.Do(ctx, Request{
		Name: "image confirm", Op: OpWrite, Group: GroupImage, ID: CmdImageState,
		Body: stateWrite{Hash: hash, Confirm: true}, Idempotent: true,
	}, &resp)
	return resp.Images, err
}

// EraseSlot erases a slot; boards refuse to erase the running slot and one
// holding a pending image or the image to revert to. Slot 1 is the usual
// upload slot.
func (c *Client) EraseSlot(ctx context.Context, slot int) error {
	return c.Do(ctx, Request{
		Name: "image erase", Op: OpWrite, Group: GroupImage, ID: CmdImageErase,
		Body: struct {
			Slot int `cbor:"slot"`
		}{slot},
		Idempotent: true,
	}, nil)
}

// Slot describes one flash slot of an image.
type Slot struct {
	Slot int `cbor:"slot"`
	Size int `cbor:"size"`
	// UploadImageID is the image number that uploads into this slot, or
	// nil when the slot cannot be uploaded to (it runs the application).
	UploadImageID *int `cbor:"upload_image_id"`
}

// ImageSlots describes the slots of one image.
type ImageSlots struct {
	Image int    `cbor:"image"`
	Slots []Slot `cbor:"slots"`
	// MaxImageSize is the largest image the board accepts, or zero when it
	// does not say.
	MaxImageSize int `cbor:"max_image_size"`
}

// SlotInfo lists the board's images and their slots.
func (c *Client) SlotInfo(ctx context.Context) ([]ImageSlots, error) {
	var resp struct {
		Images []ImageSlots `cbor:"images"`
	}
	err := c.Do(ctx, Request{Name: "slot info", Op: OpRead, Group: GroupImage, ID: CmdSlotInfo, Idempotent: true}, &resp)
	return resp.Images, err
}
