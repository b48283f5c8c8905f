package driver

import (
	"context"
	"fmt"
	neturl "net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"
)

// The server limits password attempts per account and client address
// (trustforge/server/auth.SignInPolicy): a test suite or a production line
// that signs the same account in from one machine again and again is told
// to wait, as a person would be, with the console showing "too many
// sign-in attempts; retry in 6s". SignIn waits that long and tries again.

// retryIn finds the wait in the console's rate-limit message.
var retryIn = regexp.MustCompile(`too many sign-in attempts; retry in (\d+)s`)

// SignInRetry returns how long the sign-in page's error message msg asks
// to wait before trying again, and false for any other message.
func SignInRetry(msg string) (time.Duration, bool) {
	m := retryIn.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	secs, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// maxSignInWaits bounds how many times SignIn waits for the server's limit.
const maxSignInWaits = 4

// SignIn signs user in on the console's sign-in page at url (with its
// next= page) and waits until the console shows the session: the sign-in
// page's error, but for the server's rate limit, which it waits out and
// tries again, is returned as an error.
func SignIn(ctx context.Context, url, user, password string) error {
	_, err := SignInCounting(ctx, url, user, password)
	return err
}

// SignInCounting is SignIn, and also reports how many times it waited for
// the server's limit.
func SignInCounting(ctx context.Context, url, user, password string) (waits int, err error) {
	for ; ; waits++ {
		if err := Open(ctx, url); err != nil {
			return waits, err
		}
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("signin-name"), user),
			chromedp.SendKeys(chromedp.ID("signin-password"), password),
			ClickID("signin-submit"),
			chromedp.WaitVisible(chromedp.CSS(`#session-user, #signin-error`)),
		); err != nil {
			return waits, fmt.Errorf("driver: signing in as %s: %w", user, err)
		}
		msg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("signin-error") || {}).textContent || ""`))
		if err != nil {
			return waits, fmt.Errorf("driver: signing in as %s: %w", user, err)
		}
		if msg == "" {
			return waits, nil
		}
		wait, ok := SignInRetry(msg)
		if !ok || waits == maxSignInWaits {
			return waits, fmt.Errorf("driver: signing in as %s: %s", user, msg)
		}
		// The browser logs the refused request; it was this step's.
		if w := watchOf(ctx); w != nil {
			if u, err := neturl.Parse(url); err == nil {
				w.Expect("429 (Too Many Requests) (" + u.Scheme + "://" + u.Host + "/api/session")
			}
		}
		select {
		case <-ctx.Done():
			return waits, fmt.Errorf("driver: signing in as %s: %w", user, ctx.Err())
		case <-time.After(wait):
		}
	}
}
