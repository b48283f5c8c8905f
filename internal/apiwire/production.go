package apiwire

import (
	"encoding/json"
	"time"
)

// Production orders: engineers upload production packages (.tfp, see
// docs/production-format.md) for programming stations; stations take one
// production ticket before each device, which the server counts against
// the package's authorised count and signs.

// MaxTicketBlock bounds the tickets an offline station may take at once.
const MaxTicketBlock = 16

// Package is the server's record of a production package: the answer to
// PublishPackage and GetPackage. Its fields are the server's claims: the
// station verifies the package itself.
type Package struct {
	ID        string    `json:"id"`
	Product   string    `json:"product"`
	Batch     string    `json:"batch"`
	Count     int       `json:"count"`     // devices the order authorises
	Issued    int       `json:"issued"`    // tickets handed out
	Remaining int       `json:"remaining"` // tickets left: Count - Issued, never below zero
	Refused   int       `json:"refused"`   // ticket requests refused
	NotBefore time.Time `json:"not_before"`
	Expires   time.Time `json:"expires"`
	// Open says the order is between NotBefore and Expires on the
	// server's clock.
	Open      bool   `json:"open"`
	Release   string `json:"release"`
	Version   string `json:"version"`
	ImageMode string `json:"image_mode"`
	// Signer is the fingerprint of the key the server verified the
	// package against.
	Signer      string          `json:"signer"`
	PackageSize int64           `json:"package_size"`
	Uploaded    time.Time       `json:"uploaded"`
	UploadedBy  string          `json:"uploaded_by"`
	Manifest    json.RawMessage `json:"manifest"`
}

// PackageList is the answer to ListPackages, newest first.
type PackageList struct {
	Packages []Package `json:"packages"`
}

// Ticket is a production ticket the server issued.
type Ticket struct {
	ID      string    `json:"id"`
	Package string    `json:"package"`
	Seq     int       `json:"seq"`
	Device  string    `json:"device,omitempty"` // the device it is bound to; "" for a block's ticket
	Station string    `json:"station"`
	Issued  time.Time `json:"issued"`
	// Signed is the signed ticket (crypto/production.ParseTicket), base64
	// in JSON.
	Signed []byte `json:"ticket"`
	UsedBy string `json:"used_by,omitempty"` // the device that used it
}

// TicketList is the answer to ListTickets.
type TicketList struct {
	Tickets []Ticket `json:"tickets"`
}

// TicketRequest asks TakeTickets for one device's ticket or for a block.
type TicketRequest struct {
	// Device asks for one ticket bound to this device id. Asking again
	// for a device hands out its ticket again, counting nothing.
	Device string `json:"device,omitempty"`
	// Count asks for a block of 1 to MaxTicketBlock unbound tickets, for
	// offline work.
	Count int `json:"count,omitempty"`
	// Request names a block request, so that asking again (the answer
	// was lost) hands out the same block: 1 to 64 letters, digits, '-'
	// and '_', such as 32 random hex digits.
	Request string `json:"request,omitempty"`
}

// Tickets is the answer to TakeTickets: the tickets handed out, and the
// package's counts after it.
type Tickets struct {
	Tickets   []Ticket `json:"tickets"`
	Issued    int      `json:"issued"`
	Remaining int      `json:"remaining"`
}
