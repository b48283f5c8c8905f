package bundle

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"trustforge/internal/usererr"

	"filippo.io/age"
)

// Recipient is an age recipient whose public key has a text form ("age1…"),
// so the manifest can list it. ParseRecipient returns one; so do
// (*age.X25519Identity).Recipient and (*age.HybridIdentity).Recipient.
type Recipient interface {
	age.Recipient
	String() string
}

// ParseRecipient parses an age recipient: an X25519 public key ("age1…",
// what age-keygen prints) or a post-quantum hybrid one ("age1pq1…", which
// needs age 1.3 or later to decrypt).
func ParseRecipient(s string) (Recipient, error) {
	r, err := parseRecipient(s)
	if err != nil {
		return nil, usererr.Errorf("bundle", "%w", err)
	}
	return r, nil
}

func parseRecipient(s string) (Recipient, error) {
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		return age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1"):
		return age.ParseX25519Recipient(s)
	}
	// s may be a secret key pasted by mistake: do not echo it.
	return nil, errors.New("not an age recipient (want age1…)")
}

// maxRecipientsFile bounds a recipients file.
const maxRecipientsFile = 1 << 20

// ParseRecipients reads an age recipients file: one recipient per line;
// empty lines and lines starting with "#" are ignored.
func ParseRecipients(r io.Reader) ([]Recipient, error) {
	lr := &io.LimitedReader{R: r, N: maxRecipientsFile + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), MaxRecipientLen+2)
	var out []Recipient
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rc, err := parseRecipient(line)
		if err != nil {
			return nil, usererr.Errorf("bundle", "recipients line %d: %w", n, err)
		}
		out = append(out, rc)
	}
	if err := sc.Err(); err != nil {
		return nil, usererr.Errorf("bundle", "read recipients: %w", err)
	}
	if lr.N == 0 {
		return nil, usererr.Errorf("bundle", "recipients file is larger than %d bytes", maxRecipientsFile)
	}
	if len(out) == 0 {
		return nil, usererr.New("bundle", "no recipients in file")
	}
	return out, nil
}

// Recipients says who can open a payload: one or more age recipients, or a
// passphrase. age allows a passphrase only alone, so setting both is an
// error.
type Recipients struct {
	// Keys are the age recipients.
	Keys []Recipient
	// Passphrase, when not empty, encrypts the payload to this passphrase
	// (age's scrypt recipient) instead.
	Passphrase string
	// WorkFactor is log2 of the scrypt cost for a passphrase, at most
	// MaxWorkFactor; zero means age's default (18: about a second and
	// 256 MiB of memory to open).
	WorkFactor int
}

// MaxWorkFactor is the highest scrypt work factor a passphrase-protected
// payload may use: opening one at 20 takes 1 GiB of memory, and every
// doubling doubles that. PassphraseIdentity refuses payloads above it, so a
// payload swapped by someone without the signing key cannot make a browser
// or a technician's laptop allocate more before the payload hash is checked.
const MaxWorkFactor = 20

// PassphraseIdentity returns the age identity that opens a payload
// encrypted to passphrase, refusing scrypt work factors above MaxWorkFactor.
func PassphraseIdentity(passphrase string) (age.Identity, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, usererr.Errorf("bundle", "passphrase: %w", err)
	}
	id.SetMaxWorkFactor(MaxWorkFactor)
	return id, nil
}

// ageRecipients returns the age recipients and the manifest's view of them.
func (rs Recipients) ageRecipients() (list []age.Recipient, names []string, passphrase bool, err error) {
	switch {
	case rs.Passphrase != "" && len(rs.Keys) > 0:
		return nil, nil, false, usererr.New("bundle", "age allows a passphrase only alone: give recipients or a passphrase, not both")
	case rs.Passphrase != "":
		r, err := age.NewScryptRecipient(rs.Passphrase)
		if err != nil {
			return nil, nil, false, usererr.Errorf("bundle", "passphrase: %w", err)
		}
		if rs.WorkFactor != 0 {
			if rs.WorkFactor < 1 || rs.WorkFactor > MaxWorkFactor {
				return nil, nil, false, usererr.Errorf("bundle", "scrypt work factor %d: want 1 to %d", rs.WorkFactor, MaxWorkFactor)
			}
			r.SetWorkFactor(rs.WorkFactor)
		}
		return []age.Recipient{r}, nil, true, nil
	case len(rs.Keys) == 0:
		return nil, nil, false, usererr.New("bundle", "no recipients and no passphrase")
	case len(rs.Keys) > MaxRecipients:
		return nil, nil, false, usererr.Errorf("bundle", "%d recipients (at most %d)", len(rs.Keys), MaxRecipients)
	}
	for _, k := range rs.Keys {
		if k == nil {
			return nil, nil, false, usererr.New("bundle", "nil recipient")
		}
		list = append(list, k)
		names = append(names, k.String())
	}
	return list, names, false, nil
}
