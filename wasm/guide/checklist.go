package guide

import (
	"sort"
	"trustforge/internal/apiwire"
)

// Facts is what the getting-started checklist is computed from: the
// release server's state as the viewer may read it, and this browser's.
type Facts struct {
	Viewer Viewer

	// Products counts the server's products.
	Products int
	// Accounts counts the server's accounts (known to administrators only;
	// zero otherwise).
	Accounts int
	// VaultExists reports whether this browser has a key vault.
	VaultExists bool
	// SigningKeys are the IDs (SPKI SHA-256, the server's fingerprints) of
	// the vault's signing keys.
	SigningKeys []string
	// Registered are the fingerprints of the active signing keys
	// registered with any product.
	Registered []string
	// Recipients counts the published recipients; OwnRecipient reports
	// whether the viewer published one.
	Recipients   int
	OwnRecipient bool
	// Releases counts the releases the viewer can see.
	Releases int
	// Updated counts the boards this browser updated (successful records
	// in its update log); Provisioned the boards in the device registry.
	Updated, Provisioned int
}

// Step is one step of the checklist.
type Step struct {
	// ID names the step for tests and anchors: "product", "release".
	ID string
	// Title says what to do.
	Title string
	// Why says what it is for, or who does it.
	Why string
	// Link is where it is done ("" when someone else does it), and
	// LinkText the link's words.
	Link, LinkText string
	Done           bool
}

// order is the steps' order in the checklist.
var order = []string{"product", "team", "vault", "signing-key", "register", "recipient", "own-recipient", "release", "flash"}

// Checklist returns the getting-started steps for the viewer's roles, in
// order, each marked done from f. Production stations and people signed
// out get none.
func Checklist(f Facts) []Step {
	v := f.Viewer
	if !v.SignedIn {
		return nil
	}
	steps := map[string]Step{}
	add := func(s Step) {
		if _, ok := steps[s.ID]; !ok {
			steps[s.ID] = s
		}
	}
	engineer := v.Can(apiwire.PermPublish)
	if v.Can(apiwire.PermProducts) {
		add(Step{ID: "product", Title: "Create a product", Why: "A product is a kind of board; its releases and signing keys belong to it.",
			Link: "/admin#products", LinkText: "Administration", Done: f.Products > 0})
		if !engineer {
			add(Step{ID: "team", Title: "Create an account for each engineer and technician",
				Why:  "Engineers publish firmware; technicians flash it. Your account administers only.",
				Link: "/admin#accounts", LinkText: "Administration", Done: f.Accounts > 1})
		}
	}
	if engineer {
		add(Step{ID: "product", Title: "Have a product created", Why: "Ask " + AskAdmin(v.Admins) + " to create one on Administration.", Done: f.Products > 0})
		add(Step{ID: "vault", Title: "Create your key vault", Why: "Keys live sealed in this browser, never on the server.",
			Link: "/keys", LinkText: "Keys", Done: f.VaultExists})
		add(Step{ID: "signing-key", Title: "Generate or import a signing key", Why: "Releases and images are signed with it in this browser.",
			Link: "/keys", LinkText: "Keys", Done: len(f.SigningKeys) > 0})
		add(Step{ID: "register", Title: "Register your signing key with the product", Why: "The server accepts only releases signed by a registered key.",
			Link: "/keys", LinkText: "Keys", Done: intersects(f.SigningKeys, f.Registered)})
		add(Step{ID: "recipient", Title: "Have a recipient to encrypt releases to",
			Why: "Releases are encrypted to people by name: make your own recipient in one click on the publish form " +
				"(or on the Keys page), or ask a technician to publish theirs.",
			Link: "/releases#publish", LinkText: "Releases", Done: f.Recipients > 0})
		add(Step{ID: "release", Title: "Publish a release", Why: "Sign and encrypt a firmware image here and upload it.",
			Link: "/releases", LinkText: "Releases", Done: f.Releases > 0})
	}
	if v.Can(apiwire.PermDownload) && v.Can(apiwire.PermRead) {
		if !engineer {
			add(Step{ID: "vault", Title: "Create your key vault", Why: "Your decryption key lives sealed in this browser.",
				Link: "/keys", LinkText: "Keys", Done: f.VaultExists})
			add(Step{ID: "own-recipient", Title: "Publish your recipient", Why: "Engineers then encrypt releases to you by name.",
				Link: "/keys", LinkText: "Keys", Done: f.OwnRecipient})
			add(Step{ID: "release", Title: "Wait for a release published to you", Why: "Engineers publish; the Releases page lists what you can open.",
				Link: "/releases", LinkText: "Releases", Done: f.Releases > 0})
		}
		add(Step{ID: "flash", Title: "Flash a board with the release", Why: "The guided update downloads, verifies, flashes, test-boots and confirms.",
			Link: "/update", LinkText: "Update device", Done: f.Updated > 0 || f.Provisioned > 0})
	}
	out := make([]Step, 0, len(steps))
	for _, s := range steps {
		out = append(out, s)
	}
	rank := map[string]int{}
	for i, id := range order {
		rank[id] = i
	}
	sort.Slice(out, func(i, j int) bool { return rank[out[i].ID] < rank[out[j].ID] })
	return out
}

// AllDone reports whether every step is done (true for no steps).
func AllDone(steps []Step) bool {
	for _, s := range steps {
		if !s.Done {
			return false
		}
	}
	return true
}

// Next returns the first step not done, and false when all are.
func Next(steps []Step) (Step, bool) {
	for _, s := range steps {
		if !s.Done {
			return s, true
		}
	}
	return Step{}, false
}

func intersects(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
