// Package station is the console's station mode page: a programming
// station opens a production package and programs the boards on the serial
// ports its browser policy grants, one after another, for a production
// line's driver to follow. The work itself is wasm/station's; this package
// shows it, and opens ESP32 ports through board.
package station

import (
	"bytes"
	"context"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/keys"
	"trustforge/crypto/production"
	"trustforge/devices/fwupdate"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/station"
	"trustforge/wasm/ui/kit"
)

// Station mode's states, as the page's data-state shows them to a
// production line's driver.
const (
	stationIdle    = "idle"    // no package open
	stationOpening = "opening" // downloading and opening a package
	stationReady   = "ready"   // a package is open: boards can be programmed
	stationRunning = "running" // programming the presented boards
)

// Page is station mode: a programming station opens a production
// package with its vault's identity, then programs the boards presented
// on the serial ports the browser's policy grants it, one after the other,
// taking a ticket from the server before each. It is built to be driven
// unattended (e2e/station): every state is a data attribute.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	packages []client.Package
	pkgID    string
	record   client.Package
	pkg      *production.Package
	st       *station.Station
	block    *station.Block
	state    string
	loads    int // package lists loaded
	runs     int
	boards   []boardRow
	counts   station.Counts
	held     int

	baud, blockN string
	anyPort      bool
	// rdpConfirmed is the operator's confirmation of the package's
	// request for STM32 read-out protection level 1.
	rdpConfirmed bool

	cancel      context.CancelFunc
	msg, err    string
	unsubscribe func()

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

// boardRow is one board of the last run, as the table shows it.
type boardRow struct {
	Port   string
	Step   string
	Detail string
	// Done and Total are a USB DFU board's upload progress; Unplugged is
	// set while it waits for the board to come back.
	Done, Total int64
	Unplugged   bool
	Result      *station.Result
}

func (p *Page) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Station · trustforge")
	if app.IsClient && p.pkg == nil && p.state != "" {
		p.loadPackages(ctx)
	}
}

func (p *Page) OnMount(ctx app.Context) {
	p.ui = ctx
	p.state, p.baud, p.blockN = stationIdle, strconv.Itoa(station.DefaultBaud), "8"
	p.counts.Remaining = -1
	if !app.IsClient {
		return
	}
	p.unsubscribe = p.App.Subscribe(func() {
		ctx.Dispatch(func(ctx app.Context) {
			if len(p.packages) == 0 {
				p.loadPackages(ctx)
			}
		})
	})
	p.loadPackages(ctx)
}

func (p *Page) OnDismount() {
	if p.unsubscribe != nil {
		p.unsubscribe()
	}
	if p.cancel != nil {
		p.cancel()
	}
}

func (p *Page) loadPackages(ctx app.Context) {
	ctx = p.ui
	if !p.App.Can(apiwire.PermProduce) {
		return
	}
	ctx.Async(func() {
		ps, err := p.App.API.Packages(ctx, "")
		ctx.Dispatch(func(app.Context) {
			p.loads++
			if err != nil {
				p.err = kit.Describe(err)
				return
			}
			p.packages = nil
			for _, pk := range ps {
				if pk.Open {
					p.packages = append(p.packages, pk)
				}
			}
			if p.pkgID == "" && len(p.packages) > 0 {
				p.pkgID = p.packages[0].ID
			}
		})
	})
}

// open downloads the chosen package, opens it with the vault's age
// identities, trusting the signer the server verified it against, and
// fetches the server's ticket key.
func (p *Page) open(ctx app.Context, e app.Event) {
	ctx = p.ui
	if p.state == stationOpening || p.state == stationRunning || p.pkgID == "" {
		return
	}
	p.state, p.err, p.msg = stationOpening, "", ""
	id := p.pkgID
	ctx.Async(func() {
		rec, pkg, tk, err := p.openPackage(ctx, id)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.state, p.err = stationIdle, kit.Describe(err)
				return
			}
			s, _ := p.App.Session()
			online := &station.Online{API: p.App.API, Package: pkg.ID}
			p.block = &station.Block{Online: online}
			p.st = station.New(pkg, tk.Crypto(), p.block)
			p.st.Registry, p.st.Operator = p.App.API.Registry(), s.User
			p.st.Records = func(ctx context.Context, r *fwupdate.Record) error { return p.App.API.RecordUpdate(ctx, r) }
			p.record, p.pkg, p.state, p.boards, p.rdpConfirmed = rec, pkg, stationReady, nil, false
			p.counts = p.st.Counts()
			p.counts.Remaining = rec.Remaining
			p.msg = "Opened the package of order " + pkg.Manifest.Batch + ": present boards on the production ports and program them."
		})
	})
}

func (p *Page) openPackage(ctx context.Context, id string) (client.Package, *production.Package, *keys.PublicKey, error) {
	v, err := p.App.UnlockedVault()
	if err != nil {
		return client.Package{}, nil, nil, err
	}
	ids, err := v.Identities(ctx)
	if err != nil {
		return client.Package{}, nil, nil, err
	}
	if len(ids) == 0 {
		return client.Package{}, nil, nil, usererr.New("ui", "this station's vault holds no age identity: generate one on the Keys page and publish it as its recipient")
	}
	rec, err := p.App.API.Package(ctx, id)
	if err != nil {
		return rec, nil, nil, err
	}
	data, err := p.App.API.PackageFile(ctx, id, nil)
	if err != nil {
		return rec, nil, nil, err
	}
	pkg, err := production.Open(ctx, bytes.NewReader(data), production.OpenOptions{TrustedKeyIDs: []string{rec.Signer}, Identities: ids})
	if err != nil {
		return rec, nil, nil, err
	}
	pem, err := p.App.API.TicketKey(ctx)
	if err != nil {
		return rec, nil, nil, err
	}
	tk, err := keys.ParsePublicKey(pem)
	if err != nil {
		return rec, nil, nil, err
	}
	return rec, pkg, tk, nil
}

// run programs the boards on every granted production port.
func (p *Page) run(ctx app.Context, e app.Event) {
	ctx = p.ui
	if p.st == nil || p.state != stationReady {
		return
	}
	baud, err := strconv.Atoi(strings.TrimSpace(p.baud))
	if err != nil || baud <= 0 {
		p.err = "The line speed must be a number of bits per second, e.g. 115200."
		return
	}
	jctx, cancel := context.WithCancel(context.Background())
	p.state, p.cancel, p.boards, p.err, p.msg = stationRunning, cancel, nil, "", ""
	st, opts := p.st, station.RunOptions{Baud: baud, Filter: station.PortFilter{AnyPort: p.anyPort}}
	opts.OnStep = func(i int, port string, s station.Step) {
		ctx.Dispatch(func(app.Context) {
			for len(p.boards) <= i {
				p.boards = append(p.boards, boardRow{})
			}
			row := &p.boards[i]
			row.Port, row.Step, row.Detail, row.Unplugged = port, s.Name, s.Detail, s.Unplugged
			if s.Total > 0 {
				row.Done, row.Total = s.Done, s.Total
			}
			p.counts = st.Counts()
		})
	}
	opts.OnResult = func(i int, r *station.Result) {
		ctx.Dispatch(func(app.Context) {
			for len(p.boards) <= i {
				p.boards = append(p.boards, boardRow{})
			}
			p.boards[i].Port, p.boards[i].Result = r.Port, r
			p.counts = st.Counts()
		})
	}
	ctx.Async(func() {
		var results []*station.Result
		ports, err := grantedPorts(jctx)
		// Without WebUSB (or no DFU board granted) the serial ports
		// still go, and without Web Serial the DFU boards.
		dfus, _ := grantedDFU(jctx)
		if err != nil && len(dfus) > 0 {
			err = nil
		}
		if err == nil {
			results = st.ProgramBoards(jctx, ports, dfus, opts)
		}
		ctx.Dispatch(func(app.Context) {
			cancel()
			p.state, p.cancel = stationReady, nil
			p.runs++
			p.counts = st.Counts()
			p.held = p.block.Held()
			switch {
			case err != nil:
				p.err = kit.Describe(err)
			case len(results) == 0:
				p.err = "No production port: present boards on USB serial ports, or USB DFU boards, this browser's policy grants the console."
			default:
				c := p.counts
				p.msg = "Programmed " + strconv.Itoa(c.Done) + " boards in all; " + strconv.Itoa(c.Failed) + " failed, " +
					strconv.Itoa(c.Refused) + " refused."
			}
		})
	})
}

// confirmRDP follows the confirmation of the package's request for STM32
// read-out protection level 1: the station sets it only once ticked.
func (p *Page) confirmRDP(ctx app.Context, e app.Event) {
	if p.st == nil || p.state == stationRunning {
		return
	}
	p.rdpConfirmed = ctx.JSSrc().Get("checked").Bool()
	p.st.ReadOutProtection = p.rdpConfirmed
}

// fetchBlock takes a block of tickets ahead, for working offline.
func (p *Page) fetchBlock(ctx app.Context, e app.Event) {
	ctx = p.ui
	n, err := strconv.Atoi(strings.TrimSpace(p.blockN))
	if err != nil || n < 1 || n > station.MaxBlock {
		p.err = "A block is 1 to " + strconv.Itoa(station.MaxBlock) + " tickets."
		return
	}
	b := p.block
	ctx.Async(func() {
		err := b.Fetch(ctx, n)
		ctx.Dispatch(func(app.Context) {
			p.held = b.Held()
			if err != nil {
				p.err = kit.Describe(err)
				return
			}
			p.msg = "Holding " + strconv.Itoa(p.held) + " tickets for offline work."
		})
	})
}
