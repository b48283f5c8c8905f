package client

import (
	"context"
	"net/http"
	"net/url"

	"trustforge/internal/apiwire"
	"trustforge/internal/stride"
	"trustforge/internal/usererr"
)

// The production API's bodies, as the contract (apiwire) declares them.
type (
	// Package is the server's record of a production package. Its fields
	// are the server's claims: the station verifies the package itself.
	Package = apiwire.Package
	// Ticket is a production ticket the server issued.
	Ticket = apiwire.Ticket
	// Tickets is the answer to a ticket request.
	Tickets = apiwire.Tickets
)

// MaxPackage bounds a production package download.
const MaxPackage = 160 << 20

// PublishPackage uploads a production package (.tfp), calling progress
// (when not nil) as it uploads.
func (c *Client) PublishPackage(ctx context.Context, tfp []byte, progress func(sent, total int64)) (Package, error) {
	var p Package
	path := apiwire.PublishPackage.Path()
	h := c.headers(ctx, http.MethodPost, map[string]string{"Content-Type": "application/vnd.trustforge.production"})
	var (
		status int
		body   []byte
		err    error
	)
	if c.Uploader != nil {
		status, _, body, err = c.Uploader.Upload(ctx, http.MethodPost, c.BaseURL+path, h, [][]byte{tfp}, progress)
	} else {
		status, body, err = c.uploadHTTP(ctx, path, h, [][]byte{tfp}, progress)
	}
	if err != nil {
		if ctx.Err() != nil {
			return p, ctx.Err()
		}
		return p, usererr.Errorf("client", "upload: %w", err)
	}
	if status >= 400 {
		return p, decodeError(status, body)
	}
	if err := decodeJSON(body, &p); err != nil {
		return p, usererr.Errorf("client", "upload answer: %w", err)
	}
	return p, nil
}

// Packages lists production packages, of one product unless product is "".
func (c *Client) Packages(ctx context.Context, product string) ([]Package, error) {
	path := apiwire.ListPackages.Path()
	if product != "" {
		path += "?" + url.Values{"product": {product}}.Encode()
	}
	var out apiwire.PackageList
	err := c.call(ctx, apiwire.ListPackages.Method, path, nil, &out)
	return out.Packages, err
}

// Package returns a production package's record.
func (c *Client) Package(ctx context.Context, id string) (Package, error) {
	var p Package
	err := c.call(ctx, apiwire.GetPackage.Method, apiwire.GetPackage.Path(id), nil, &p)
	return p, err
}

// PackageFile downloads a production package's .tfp.
func (c *Client) PackageFile(ctx context.Context, id string, progress func(done, total int64)) ([]byte, error) {
	return c.fetch(ctx, apiwire.DownloadPackage.Path(id), MaxPackage, progress)
}

// PackageTickets lists a package's tickets.
func (c *Client) PackageTickets(ctx context.Context, id string) ([]Ticket, error) {
	var out apiwire.TicketList
	err := c.call(ctx, apiwire.ListTickets.Method, apiwire.ListTickets.Path(id), nil, &out)
	return out.Tickets, err
}

// TakeTicket asks for the ticket to build device (its id, hex). A refusal
// is an *Error with code "count_reached" or "order_closed". Asking again
// for a device hands out its ticket again, counting nothing: a request
// whose answer was lost may be sent again.
func (c *Client) TakeTicket(ctx context.Context, pkg, device string) (Tickets, error) {
	var out Tickets
	err := c.call(ctx, apiwire.TakeTickets.Method, apiwire.TakeTickets.Path(pkg), apiwire.TicketRequest{Device: device}, &out)
	return out, err
}

// TakeTickets asks for a block of n unbound tickets, for offline work.
// With a request name (1 to 64 letters, digits, '-' and '_'; "" for none),
// asking again under the same name hands out the same block, counting
// nothing: a request whose answer was lost may be sent again.
func (c *Client) TakeTickets(ctx context.Context, pkg string, n int, request string) (Tickets, error) {
	var out Tickets
	err := c.call(ctx, apiwire.TakeTickets.Method, apiwire.TakeTickets.Path(pkg), apiwire.TicketRequest{Count: n, Request: request}, &out)
	return out, err
}

// TicketKey returns the server's ticket key, PEM.
func (c *Client) TicketKey(ctx context.Context) ([]byte, error) {
	return c.fetch(ctx, apiwire.GetTicketKey.Path(), 4<<10, nil)
}

// Summary returns a product's security facts, for its security plan.
func (c *Client) Summary(ctx context.Context, product string) (*stride.ServerFacts, error) {
	var f stride.ServerFacts
	if err := c.call(ctx, apiwire.ProductSummary.Method, apiwire.ProductSummary.Path(product), nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}
