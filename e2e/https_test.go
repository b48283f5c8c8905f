package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"trustforge/crypto/keys"
	"trustforge/e2e/driver"
	"trustforge/server/certs"
)

// httpsHost is the name the HTTPS test reaches its server by: not
// localhost, so that only HTTPS makes the console a secure context.
const httpsHost = "console.trustforge.test"

// TestConsoleOverHTTPS serves the console over HTTPS from a local CA
// (trustforge tls init) on a name that is not localhost, mapped to
// 127.0.0.1 in Chromium, which trusts the server's key by its SPKI hash:
// the page is a secure context with Web Serial and WebUSB, sign-in sets
// the Secure session cookie, a board is flashed through the Web Serial
// shim, and the console reloads offline from its service worker.
func TestConsoleOverHTTPS(t *testing.T) {
	if env.skip != "" {
		t.Skipf("chromium missing: %s", env.skip)
	}
	data := filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command(env.bin, "tls", "init", "--data", data, "--hostname", httpsHost).CombinedOutput(); err != nil {
		t.Fatalf("tls init: %v\n%s", err, out)
	}
	caPEM, err := os.ReadFile(filepath.Join(certs.LocalDir(data), certs.LocalCACert))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	toLoopback := func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: toLoopback,
		TLSClientConfig: &tls.Config{RootCAs: roots}}}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	srv, err := driver.StartServer(ctx, driver.ServerOptions{Binary: env.bin, DataDir: data, WebDir: env.webDir, Log: testLog(), Client: client})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if !strings.HasPrefix(srv.URL, "https://"+httpsHost+":") {
		t.Fatalf("the server announced %s, want https://%s:…", srv.URL, httpsHost)
	}
	// The first administrator, enrolled through the API over HTTPS.
	m := regexp.MustCompile(`/enrol#token=(tfe_[A-Za-z0-9_-]+)`).FindStringSubmatch(srv.Output())
	if m == nil {
		t.Fatalf("no enrolment link:\n%s", srv.Output())
	}
	const adminName, adminPass = "root", "https root password"
	b, _ := json.Marshal(map[string]string{"token": m[1], "name": adminName, "password": adminPass})
	resp, err := client.Post(srv.URL+"/api/enrol", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("enrol: %d", resp.StatusCode)
	}

	// Chromium trusts the server's key, and finds the name at 127.0.0.1.
	leafPEM, _ := os.ReadFile(filepath.Join(certs.LocalDir(data), certs.LocalServerCert))
	leaf, err := parseFirstCert(leafPEM)
	if err != nil {
		t.Fatal(err)
	}
	br, err := driver.StartBrowser(ctx, driver.BrowserOptions{Flags: map[string]any{
		"host-resolver-rules":                 "MAP " + httpsHost + " 127.0.0.1",
		"ignore-certificate-errors-spki-list": certs.SPKIHash(leaf),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	tab, closeTab, err := br.NewTab()
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	tab, tcancel := context.WithTimeout(tab, 5*time.Minute)
	defer tcancel()
	watch := driver.WatchErrors(tab)
	defer func() {
		if err := watch.Err(); err != nil {
			t.Error(err)
		}
	}()

	if err := driver.Open(tab, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	type secureFacts struct {
		Secure bool `json:"secure"`
		Serial bool `json:"serial"`
		USB    bool `json:"usb"`
	}
	const facts = `({secure: window.isSecureContext, serial: !!navigator.serial, usb: !!navigator.usb})`
	secure, err := chromedp.Run(tab, chromedp.Evaluate[secureFacts](facts))
	if err != nil {
		t.Fatal(err)
	}
	if !secure.Secure || !secure.Serial || !secure.USB {
		t.Fatalf("over HTTPS on %s: isSecureContext %v, navigator.serial %v, navigator.usb %v; want all true", httpsHost, secure.Secure, secure.Serial, secure.USB)
	}

	// A board behind the Web Serial shim (installed for the next
	// navigation), then sign-in.
	bootKey, _ := keys.Generate(nil, keys.Ed25519)
	bd := newBoard(t, tab, boardOptions{Running: "1.0.0", BootKey: bootKey})
	if err := driver.Open(tab, srv.URL+"/signin?next=/devices"); err != nil {
		t.Fatal(err)
	}
	typeInto(t, tab, "signin-name", adminName)
	typeInto(t, tab, "signin-password", adminPass)
	click(t, tab, "signin-submit")
	waitFor(t, tab, `#session-user`)
	res, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range res.Cookies {
		if c.Name == "tf_session" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HTTPOnly || session.Domain != httpsHost {
		t.Fatalf("session cookie after sign-in: %+v", session)
	}

	// Flash a signed image through the shim.
	goTo(t, tab, "devices")
	connectBoard(t, tab, bd)
	waitSlot(t, tab, 0, "1.0.0", "active", "confirmed")
	setFile(t, tab, "upload-file", writeFile(t, "pump-1.1.0.bin", signedImage(t, "1.1.0", bootKey, 24<<10)))
	waitFor(t, tab, "#upload-file-info")
	click(t, tab, "upload-start")
	waitFor(t, tab, "#upload-message")
	hasText(t, tab, "upload-message", "the board checked its SHA-256")
	waitSlot(t, tab, 1, "1.1.0")

	// Offline: the service worker (registered over HTTPS) serves the
	// console.
	if err := waitOfflineReady(tab); err != nil {
		t.Fatal(err)
	}
	if err := driver.SetOffline(tab, true); err != nil {
		t.Fatal(err)
	}
	// Offline, the signed-in console's own calls fail, as in the field.
	watch.Expect("/healthz?probe")
	watch.Expect("net::ERR_INTERNET_DISCONNECTED")
	watch.Expect("net::ERR_FAILED")
	watch.Expect("Failed to fetch")
	reached, err := chromedp.Run(tab, chromedp.Evaluate[bool](
		`fetch("/healthz?probe", {cache: "no-store"}).then(() => true, () => false)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if reached {
		t.Fatal("the server is still reachable with the network cut")
	}
	if err := chromedp.Do(tab, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if err := driver.WaitReady(tab); err != nil {
		t.Fatalf("the console did not reload offline: %v", err)
	}
	if secure, err = chromedp.Run(tab, chromedp.Evaluate[secureFacts](facts)); err != nil {
		t.Fatal(err)
	}
	if !secure.Secure {
		t.Error("the offline console is not a secure context")
	}
	if err := driver.SetOffline(tab, false); err != nil {
		t.Fatal(err)
	}
}

func parseFirstCert(pemBytes []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}
