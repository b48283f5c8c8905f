// Package station drives the trustforge console's station mode with
// chromedp: what a production line's own test rig imports to run a
// programming station unattended. A rig opens a console tab (see
// trustforge/e2e/driver for starting Chromium), signs the station's
// account in, enrols the station once (a vault with an age identity whose
// recipient engineers build production packages for), opens a package and
// programs the boards presented on the production ports, reading back the
// result of every board and the station's counts.
//
// The console reaches boards only through serial ports the browser grants
// without a chooser: on a line, Chromium's SerialAllowUsbDevicesForUrls
// (or SerialAllowAllPortsForUrls) enterprise policy for the console's
// origin; in tests, the Web Serial shim of trustforge/e2e/driver with
// Granted ports. Station mode takes USB serial ports only unless told
// otherwise, so a machine's own console UART is never touched. USB DFU
// boards (Zephyr, STM32 DfuSe) are the WebUSB devices with a DFU interface
// the browser grants likewise (WebUsbAllowDevicesForUrls; the WebUSB shim's
// Granted devices in tests); they are programmed after the serial ports.
//
// Every wait is on a marker the console sets (data attributes), never a
// sleep; every method fails with the console's own error message when it
// shows one.
//
// A rig, in short (TestProductionLine in trustforge/e2e runs these steps
// against a server it starts, with simulated boards behind the shim):
//
//	b, err := driver.StartBrowser(ctx, driver.BrowserOptions{})
//	...
//	tab, closeTab, err := b.NewTab()
//	...
//	s := station.New(tab, "https://releases.example.com")
//	err = s.SignIn("line2", password)
//	err = s.Unlock(vaultPassphrase) // or s.Enrol once, on a new station
//	err = s.Open("")                // the first open package addressed to it
//	run, err := s.Program()
//	for _, bd := range run.Boards {
//		fmt.Println(bd.Port, bd.Device, bd.State, bd.Detail)
//	}
package station

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// Path is station mode's path in the console.
const Path = "/station"

// Station is a console tab in station mode.
type Station struct {
	ctx  context.Context
	base string
}

// New returns a station driving the chromedp tab of ctx, on the console
// at base (e.g. "https://releases.example.com"). Install the serial shim
// or the policy before the tab's first navigation.
func New(ctx context.Context, base string) *Station {
	return &Station{ctx: ctx, base: strings.TrimSuffix(base, "/")}
}

// Board is one board of a run, as station mode reports it.
type Board struct {
	// Index is the board's place in the run, from 0.
	Index int
	// Port names the port it was presented on.
	Port string
	// Device is its unique id, lowercase hex, once read.
	Device string
	// State is "done", "failed" or "refused".
	State string
	// Ticket is the id of the production ticket it was built with.
	Ticket string
	// Detail says what was done, or why the board was refused or failed.
	Detail string
}

// Counts are the station's tallies since it opened its package.
type Counts struct {
	Done, Failed, Refused int
	// Remaining is the number of devices the order still allows.
	Remaining int
}

// Run is the outcome of one press of "Program the presented boards".
type Run struct {
	Boards []Board
	Counts Counts
}

// SignIn signs the station's account in and opens station mode. When the
// server's limit on sign-in attempts asks it to wait, it waits and tries
// again (driver.SignIn).
func (s *Station) SignIn(user, password string) error {
	if err := driver.SignIn(s.ctx, s.base+"/signin?next="+Path, user, password); err != nil {
		return fmt.Errorf("station: %w", err)
	}
	return s.waitPage()
}

// waitPage waits until station mode is on screen.
func (s *Station) waitPage() error {
	if err := chromedp.Do(s.ctx, chromedp.WaitVisible(chromedp.CSS(`#nav-station[aria-current="page"]`))); err != nil {
		return fmt.Errorf("station: waiting for station mode: %w", err)
	}
	return nil
}

// Enrol prepares a new station once: it creates the station's vault with
// passphrase on the Keys page, generates an age identity named name in
// it and publishes its recipient, which engineers then address production
// packages to (the server lists it: GET /api/recipients). It returns the
// identity's vault ID, and leaves the vault unlocked and station mode open.
func (s *Station) Enrol(passphrase, name string) (string, error) {
	if err := s.nav("keys"); err != nil {
		return "", err
	}
	if err := chromedp.Do(s.ctx,
		chromedp.WaitVisible(chromedp.CSS(`#vault[data-state="none"]`)),
		chromedp.SendKeys(chromedp.ID("vault-pass"), passphrase),
		chromedp.SendKeys(chromedp.ID("vault-pass-confirm"), passphrase),
		driver.ClickID("vault-create"),
		chromedp.WaitVisible(chromedp.CSS(`#vault[data-state="unlocked"]`)),
	); err != nil {
		return "", fmt.Errorf("station: creating the vault: %w", err)
	}
	if err := s.choose("keygen-alg", "age-x25519"); err != nil {
		return "", err
	}
	row := `tr[data-testid="key-row"][data-algorithm="age-x25519"]`
	if err := chromedp.Do(s.ctx,
		chromedp.SendKeys(chromedp.ID("keygen-name"), name),
		driver.ClickID("keygen-submit"),
		chromedp.WaitVisible(chromedp.CSS(row)),
	); err != nil {
		return "", fmt.Errorf("station: generating the age identity: %w", err)
	}
	id, err := chromedp.Run(s.ctx, chromedp.Evaluate[string](`document.querySelector('`+row+`').dataset.keyId`))
	if err != nil || len(id) < 16 {
		return "", fmt.Errorf("station: reading the new key's id: %v", err)
	}
	if err := chromedp.Do(s.ctx,
		driver.ClickID("key-publish-"+id[:16]),
		chromedp.WaitVisible(chromedp.ID("keys-message")),
	); err != nil {
		return "", fmt.Errorf("station: publishing the recipient: %w", err)
	}
	if msg := s.text("keys-message"); !strings.Contains(msg, "Published") {
		return "", fmt.Errorf("station: publishing the recipient: %s", msg)
	}
	return id, s.nav("station")
}

// Unlock unlocks the station's vault on the station page.
func (s *Station) Unlock(passphrase string) error {
	if err := chromedp.Do(s.ctx,
		chromedp.WaitVisible(chromedp.CSS(`#vault[data-state="locked"]`)),
		chromedp.SendKeys(chromedp.ID("vault-pass"), passphrase),
		driver.ClickID("vault-unlock"),
		chromedp.WaitVisible(chromedp.CSS(`#vault[data-state="unlocked"], #vault-error`)),
	); err != nil {
		return fmt.Errorf("station: unlocking the vault: %w", err)
	}
	if msg := s.text("vault-error"); msg != "" {
		return fmt.Errorf("station: unlocking the vault: %s", msg)
	}
	return nil
}

// Open opens the production package with id packageID (the first open
// one addressed to the station when empty) and waits until station mode
// is ready to program boards.
func (s *Station) Open(packageID string) error {
	if err := s.nav("station"); err != nil {
		return err
	}
	// Ask for the orders again: the package may be newer than the page.
	loaded, err := chromedp.Run(s.ctx, chromedp.Evaluate[string](`(document.getElementById("station-open-panel") || {dataset: {}}).dataset.loaded || ""`))
	if err != nil || loaded == "" {
		return fmt.Errorf("station: no package to open on the station page (%v)", err)
	}
	n, _ := strconv.Atoi(loaded)
	if err := chromedp.Do(s.ctx, driver.ClickID("station-refresh")); err != nil {
		return fmt.Errorf("station: listing the orders: %w", err)
	}
	if _, err := chromedp.Run(s.ctx, chromedp.Poll[bool](fmt.Sprintf(
		`parseInt((document.getElementById("station-open-panel") || {dataset: {}}).dataset.loaded || "0") > %d || null`, n),
		chromedp.WithPollingMutation())); err != nil {
		return fmt.Errorf("station: listing the orders: %w", err)
	}
	if msg := s.text("station-error"); msg != "" {
		return fmt.Errorf("station: listing the orders: %s", msg)
	}
	if packageID != "" {
		js := fmt.Sprintf(`(() => {
			const s = document.getElementById("station-package-select");
			if (!s || ![...s.options].some(o => o.value === %q)) return false;
			s.value = %q;
			s.dispatchEvent(new Event("change", {bubbles: true}));
			return true;
		})()`, packageID, packageID)
		ok, err := chromedp.Run(s.ctx, chromedp.Poll[bool](js))
		if err != nil || !ok {
			return fmt.Errorf("station: package %s is not offered to this station: %v", packageID, err)
		}
	}
	if err := chromedp.Do(s.ctx, driver.ClickID("station-open")); err != nil {
		return fmt.Errorf("station: opening the package: %w", err)
	}
	got, err := chromedp.Run(s.ctx, chromedp.Poll[string](`(() => {
		const st = document.getElementById("station");
		const e = document.getElementById("station-error");
		if (st && st.dataset.state === "ready") return "ready";
		if (st && st.dataset.state === "idle" && e && e.textContent) return "error: " + e.textContent;
		return null;
	})()`, chromedp.WithPollingMutation()))
	if err != nil {
		return fmt.Errorf("station: opening the package: %w", err)
	}
	if msg, ok := strings.CutPrefix(got, "error: "); ok {
		return fmt.Errorf("station: opening the package: %s", msg)
	}
	return nil
}

// PackageID returns the id of the open package.
func (s *Station) PackageID() (string, error) {
	return chromedp.Run(s.ctx, chromedp.Evaluate[string](`(document.getElementById("station-package") || {dataset: {}}).dataset.package || ""`))
}

// Program presses "Program the presented boards" and waits until every
// board on the production ports has been programmed or refused, then
// returns each board's outcome and the station's counts.
func (s *Station) Program() (*Run, error) {
	runs, err := chromedp.Run(s.ctx, chromedp.Evaluate[string](`document.getElementById("station").dataset.runs`))
	if err != nil {
		return nil, fmt.Errorf("station: %w", err)
	}
	n, _ := strconv.Atoi(runs)
	if err := chromedp.Do(s.ctx, driver.ClickID("station-run")); err != nil {
		return nil, fmt.Errorf("station: starting the run: %w", err)
	}
	sel := fmt.Sprintf(`#station[data-state="ready"][data-runs="%d"]`, n+1)
	if err := chromedp.Do(s.ctx, chromedp.WaitReady(chromedp.CSS(sel))); err != nil {
		return nil, fmt.Errorf("station: waiting for the run to end: %w", err)
	}
	run := &Run{}
	if run.Boards, err = s.boards(); err != nil {
		return nil, err
	}
	if run.Counts, err = s.Counts(); err != nil {
		return nil, err
	}
	if len(run.Boards) == 0 {
		if msg := s.text("station-error"); msg != "" {
			return run, errors.New("station: " + msg)
		}
	}
	return run, nil
}

func (s *Station) boards() ([]Board, error) {
	type row struct {
		Index                               string
		Port, Device, State, Ticket, Detail string
	}
	rows, err := chromedp.Run(s.ctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll('tr[data-testid="station-board"]')].map(tr => ({
		Index: tr.dataset.index, Port: tr.dataset.port || "", Device: tr.dataset.device || "", State: tr.dataset.state || "",
		Ticket: tr.dataset.ticket || "", Detail: (tr.querySelector(".board-detail") || {}).textContent || "",
	}))`))
	if err != nil {
		return nil, fmt.Errorf("station: reading the boards: %w", err)
	}
	out := make([]Board, 0, len(rows))
	for _, r := range rows {
		i, _ := strconv.Atoi(r.Index)
		out = append(out, Board{Index: i, Port: r.Port, Device: r.Device, State: r.State, Ticket: r.Ticket, Detail: r.Detail})
	}
	return out, nil
}

// Counts reads the station's counts: done, failed, refused, remaining.
func (s *Station) Counts() (Counts, error) {
	m, err := chromedp.Run(s.ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(
		["done", "failed", "refused", "remaining"].map(k => [k, (document.getElementById("station-count-" + k) || {dataset: {}}).dataset.count || ""]))`))
	if err != nil {
		return Counts{}, fmt.Errorf("station: reading the counts: %w", err)
	}
	var c Counts
	for k, dst := range map[string]*int{"done": &c.Done, "failed": &c.Failed, "refused": &c.Refused, "remaining": &c.Remaining} {
		if *dst, err = strconv.Atoi(m[k]); err != nil {
			return Counts{}, fmt.Errorf("station: no %s count on the page", k)
		}
	}
	return c, nil
}

// nav clicks a navigation link, as a person does: the page changes
// without a reload, so the vault stays unlocked.
func (s *Station) nav(id string) error {
	if err := chromedp.Do(s.ctx,
		driver.ClickID("nav-"+id),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#nav-%s[aria-current="page"]`, id))),
	); err != nil {
		return fmt.Errorf("station: opening the %s page: %w", id, err)
	}
	return nil
}

func (s *Station) choose(id, value string) error {
	js := fmt.Sprintf(`(() => {
		const s = document.getElementById(%q);
		if (!s || ![...s.options].some(o => o.value === %q)) return false;
		s.value = %q;
		s.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, id, value, value)
	if ok, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool](js)); err != nil || !ok {
		return fmt.Errorf("station: choosing %q in #%s: %v", value, id, err)
	}
	return nil
}

// text returns an element's text, or "" when it is absent.
func (s *Station) text(id string) string {
	t, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById(%q) || {}).textContent || ""`, id)))
	return t
}

// ConfirmReadOutProtection ticks the station's confirmation of the open
// package's request for STM32 read-out protection level 1, which cannot be
// undone: until then station mode writes nothing to STM32 boards.
func (s *Station) ConfirmReadOutProtection() error {
	if err := chromedp.Do(s.ctx,
		driver.ClickID("station-rdp-confirm"),
		chromedp.WaitVisible(chromedp.CSS(`#station-rdp[data-confirmed="true"]`)),
	); err != nil {
		return fmt.Errorf("station: confirming read-out protection: %w", err)
	}
	return nil
}
