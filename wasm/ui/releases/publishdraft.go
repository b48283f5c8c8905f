package releases

import "trustforge/wasm/ui/kit"

// Draft is the publish form's content: what the engineer chose and
// typed, kept for the tab's session so that leaving the Releases page (to
// make a key or a recipient) and coming back loses nothing. It outlives
// the form component, which go-app makes anew on each visit.
type Draft struct {
	user string // whose draft it is: another account signing in starts afresh

	file    *kit.PickedFile // the firmware chosen or dropped
	fileErr string          // why the last file was refused

	product, channel, version, counter, hardware, notes string
	keyID, encryptTo                                    string
	headerSize, align, slotSize                         string
	padHeader                                           bool
	chosen                                              map[string]bool // age recipients ticked
	touched                                             map[string]bool // age recipients ticked or unticked by hand
}

// NewDraft returns an empty draft with MCUboot's usual signing
// options.
func NewDraft() *Draft {
	return &Draft{
		headerSize: "0x200", align: "8", padHeader: true,
		chosen: map[string]bool{}, touched: map[string]bool{},
	}
}

// forUser empties the draft when it was someone else's.
func (d *Draft) forUser(user string) {
	if d.user != user {
		*d = *NewDraft()
		d.user = user
	}
}

// setChosen ticks or unticks recipient r by hand.
func (d *Draft) setChosen(r string, on bool) {
	d.chosen[r], d.touched[r] = on, true
}

// offerOwn ticks the engineer's own recipient unless they unticked it: a
// release its publisher cannot open is rarely what anyone wants.
func (d *Draft) offerOwn(r string) {
	if !d.touched[r] {
		d.chosen[r] = true
	}
}
