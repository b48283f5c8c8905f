package e2e

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/keys"
	"trustforge/e2e/station"
)

// enrolStation signs the station account user in on the tab ctx and enrols its
// vault under name: the station packages are addressed to.
func enrolStation(tb testing.TB, ctx context.Context, user, name string) *station.Station {
	tb.Helper()
	line := station.New(ctx, env.server.URL)
	if err := line.SignIn(user, stationPass); err != nil {
		tb.Fatal(err)
	}
	if _, err := line.Enrol(stationVaultPass, name); err != nil {
		tb.Fatal(err)
	}
	return line
}

// lineEngineer sets a production line's engineer up on the tab ctx, as
// the console shows it: a vault, a release key imported from keyFile and
// registered for product, an age identity published to open the product's
// releases, a device CA of org with product's intermediate, and a profile
// with the release key as boot key that encrypts images to each board or
// not. It returns the release key and its id in the vault.
func lineEngineer(tb testing.TB, ctx context.Context, product, org, keyFile string, encrypt bool) (*keys.PrivateKey, string) {
	tb.Helper()
	signIn(tb, ctx, engineerName, engineerPass)
	createVault(tb, ctx, lineVaultPass)
	releaseKey, _ := keys.Generate(rand.Reader, keys.Ed25519)
	releasePEM, _ := releaseKey.MarshalPEM()
	setFile(tb, ctx, "import-file", writeFile(tb, keyFile, releasePEM))
	keyRow := `tr[data-testid="key-row"][data-algorithm="ed25519"]`
	waitFor(tb, ctx, keyRow)
	keyID := attr(tb, ctx, keyRow, "data-key-id")
	choose(tb, ctx, "register-product", product)
	click(tb, ctx, "key-register-"+keyID[:16])
	waitFor(tb, ctx, "#keys-message")
	hasText(tb, ctx, "keys-message", "Registered")
	ageID := generateKey(tb, ctx, "age-x25519", "engineer releases")
	click(tb, ctx, "key-publish-"+ageID[:16])
	eventually(tb, ctx, "the engineer's recipient to be published", func() bool {
		return strings.Contains(textOfAny(tb, ctx, "keys-message"), "Published")
	})
	goTo(tb, ctx, "identity")
	typeInto(tb, ctx, "ca-org", org)
	click(tb, ctx, "ca-create-root")
	waitFor(tb, ctx, "#ca-root")
	typeInto(tb, ctx, "ca-product", product)
	click(tb, ctx, "ca-add-intermediate")
	waitFor(tb, ctx, "#ca-intermediate-"+product)
	choose(tb, ctx, "profile-product", product)
	choose(tb, ctx, "profile-bootkey", keyID)
	if on, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("profile-encrypt").checked`)); on != encrypt {
		click(tb, ctx, "profile-encrypt")
	}
	click(tb, ctx, "profile-save")
	waitFor(tb, ctx, "#profile-message")
	return releaseKey, keyID
}
