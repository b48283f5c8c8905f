package guide

import (
	"strings"

	"trustforge/internal/apiwire"
	"trustforge/wasm/state"
)

// Page names a console page.
type Page string

// The console's pages.
const (
	PageDevices  Page = "devices"
	PageUpdate   Page = "update"
	PageReleases Page = "releases"
	PageKeys     Page = "keys"
	PageIdentity Page = "identity"
	PageSecurity Page = "security"
	PageStation  Page = "station"
	PageAdmin    Page = "admin"
)

// ability is one thing a page does and the permission it needs ("" for
// what anyone at this browser may do, signed in or not).
type ability struct {
	perm state.Permission
	what string
}

var abilities = map[Page][]ability{
	PageDevices: {
		{"", "connect a board (Web Serial, WebUSB or the simulated board), read its slots, flash an image file, test, confirm and reset it"},
		{apiwire.PermDownload, "flash a published release with the guided update"},
	},
	PageUpdate: {
		{apiwire.PermDownload, "download a published release, check it and flash it step by step, offline too"},
		{apiwire.PermReport, "record each update in the server's audit log"},
	},
	PageReleases: {
		{apiwire.PermRead, "list releases and check their signatures in this browser"},
		{apiwire.PermPublish, "sign, encrypt and publish releases, promote and yank them, and build production packages"},
	},
	PageKeys: {
		{"", "keep signing and decryption keys in this browser's vault, back them up and export public keys"},
		{apiwire.PermKeys, "register a signing key with a product, so the server accepts releases it signs"},
		{apiwire.PermSelf, "publish your decryption key's recipient, so releases can be encrypted to you by name"},
	},
	PageIdentity: {
		{"", "run a device CA in this browser and keep provisioning profiles"},
		{apiwire.PermProvision, "provision a connected board and register it"},
		{apiwire.PermDevices, "search the device registry"},
		{apiwire.PermRevoke, "revoke boards and publish revocation lists"},
	},
	PageSecurity: {
		{apiwire.PermRead, "read each product's security plan, with live status from the server"},
	},
	PageStation: {
		{apiwire.PermProduce, "program boards from a production package, one server ticket per board"},
	},
	PageAdmin: {
		{apiwire.PermUsers, "create accounts, set their roles and passwords, disable them and issue API tokens"},
		{apiwire.PermProducts, "create products and add channels"},
		{apiwire.PermAudit, "browse, verify and export the audit log"},
	},
}

// Missing is something a page does that the viewer may not.
type Missing struct {
	// What the page does.
	What string
	// Who may: "engineers".
	Who string
	// How the viewer gets it done.
	How string
}

// Sentence is the missing ability as one sentence.
func (m Missing) Sentence() string {
	return upperFirst(m.What) + ": " + m.Who + " can. " + m.How
}

// Note says what the viewer may do on a page and what not.
type Note struct {
	// Can is one sentence: what the viewer may do here.
	Can string
	// Cannot lists the rest, each with who may and how.
	Cannot []Missing
}

// PageNote returns what the viewer may do on page and, for the rest, who
// may and how to get it done.
func PageNote(page Page, v Viewer) Note {
	var can []string
	var n Note
	for _, a := range abilities[page] {
		switch {
		case a.perm == "" || v.Can(a.perm):
			can = append(can, a.what)
		case !v.SignedIn:
			n.Cannot = append(n.Cannot, Missing{What: a.what, Who: whoMay(a.perm), How: "Sign in first."})
		default:
			n.Cannot = append(n.Cannot, Missing{What: a.what, Who: whoMay(a.perm), How: GetRole(v, a.perm)})
		}
	}
	who := "Signed out, you"
	if v.SignedIn {
		who = "As " + RolesPhrase(v.Roles) + ", you"
	}
	if len(can) == 0 {
		n.Can = who + " cannot use this page."
	} else {
		n.Can = who + " can " + joinWith(can, "and") + "."
	}
	return n
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// PageFor names the guide's page of a console page identifier ("keys",
// "admin"), and false for pages it does not describe.
func PageFor(id string) (Page, bool) {
	p := Page(id)
	_, ok := abilities[p]
	return p, ok
}

// CardLine is the line a home-page card adds for the viewer: nothing when
// the viewer can use the page, else who uses it and how to join them.
func CardLine(page Page, v Viewer) string {
	if !v.SignedIn {
		return ""
	}
	var perms []state.Permission
	for _, a := range abilities[page] {
		if a.perm == "" || v.Can(a.perm) {
			return ""
		}
		perms = append(perms, a.perm)
	}
	if len(perms) == 0 {
		return ""
	}
	return "Not for your roles: " + whoMay(perms[0]) + " use it. " + GetRole(v, perms[0])
}

// SectionNote is what a page section the viewer's roles may not use says
// in its place: what it does, who may, and how the viewer gets it done.
// It is "" when the viewer may use it.
func SectionNote(v Viewer, perm state.Permission, what string) string {
	if perm == "" || v.Can(perm) {
		return ""
	}
	how := "Sign in first."
	if v.SignedIn {
		how = GetRole(v, perm)
	}
	return Missing{What: what, Who: whoMay(perm), How: how}.Sentence()
}
