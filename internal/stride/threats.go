package stride

import (
	"fmt"
	"slices"
	"strings"
)

// Threats returns the model: every threat, grouped by category in STRIDE
// order. The slice is new at each call.
func Threats() []Threat {
	var all []Threat
	all = append(all, spoofingThreats()...)
	all = append(all, tamperingThreats()...)
	all = append(all, repudiationThreats()...)
	all = append(all, disclosureThreats()...)
	all = append(all, denialThreats()...)
	all = append(all, elevationThreats()...)
	return all
}

func spoofingThreats() []Threat {
	return []Threat{
		{
			ID: "S1", Category: Spoofing, Title: "Cloned device identity",
			Threat: "A copied board, or firmware replayed on another board, presents a genuine device's identity to the cloud or to the update path.",
			Mitigation: "Each board generates its P-256 identity key itself and only proves possession of it (PKCS#10); the CA certifies exactly the device id the board reports; " +
				"the device registry refuses a second board with an id or certificate already registered; provisioned boards are locked.",
			check: checkClones,
		},
		{
			ID: "S2", Category: Spoofing, Title: "Rogue certificate authority",
			Threat: "Someone issues device certificates from another CA, or from one product's CA for another product, so that counterfeit devices pass as genuine.",
			Mitigation: "Product and batch CAs carry critical name constraints confining them to the product's subtree; the registry pins the root the product's first device chains to " +
				"and refuses chains to any other.",
			check: checkRoots,
		},
		{
			ID: "S3", Category: Spoofing, Title: "Impersonated engineer or console",
			Threat: "A stolen password, a phishing page or a network attacker poses as an engineer to the server, or as the server to a technician.",
			Mitigation: "argon2id password hashes, rate-limited sign-in, Secure/HttpOnly/SameSite=Strict session cookies with CSRF tokens, API tokens stored as hashes; " +
				"the console needs a secure context (https or loopback) and verifies every release itself.",
			check: checkConsoleTransport,
		},
	}
}

func tamperingThreats() []Threat {
	return []Threat{
		{
			ID: "T1", Category: Tampering, Title: "Forged firmware image",
			Threat: "An attacker makes a board boot an image they built: through the update path, a service port or a compromised server.",
			Mitigation: "MCUboot checks the image signature at every boot against the boot key whose hash is fused into the board at provisioning; " +
				"trustforge signs images in the browser with keys that never leave its vault.",
			check: checkForgedImage,
		},
		{
			ID: "T2", Category: Tampering, Title: "Altered release in transit or at rest",
			Threat: "A release is swapped or altered on the server, a mirror, a technician's laptop or the line's cache.",
			Mitigation: "Release manifests are COSE-signed by a registered key and bind the payload's SHA-256; the server verifies each upload before storing it, " +
				"and every console verifies the manifest and the image again before use.",
			check: checkReleaseIntegrity,
		},
		{
			ID: "T3", Category: Tampering, Title: "Rollback to a vulnerable version",
			Threat:     "An old, validly signed image with a known flaw is installed again.",
			Mitigation: "Channels only accept versions above everything they ever held; the image's security counter (SEC_CNT) rises with each release and the bootloader refuses lower ones.",
			check:      checkRollback,
		},
		{
			ID: "T4", Category: Tampering, Title: "Modified production package",
			Threat: "The contract manufacturer, or anyone on the way, changes the image, the CA, the profile or the count of a production package.",
			Mitigation: "The package manifest is COSE-signed by a registered release key and binds the encrypted payload's SHA-256; the payload is age-encrypted (authenticated); " +
				"stations refuse a package changed anywhere.",
			check: checkPackages,
		},
		{
			ID: "T5", Category: Tampering, Title: "Rewritten audit log",
			Threat:     "Someone with access to the server's database erases the trace of a release, a key change or a production ticket.",
			Mitigation: "Every change is appended to a hash-chained audit log in the same transaction; exported heads detect truncation and rewriting.",
			check:      checkAudit,
		},
	}
}

func repudiationThreats() []Threat {
	return []Threat{
		{
			ID: "R1", Category: Repudiation, Title: "Repudiated release",
			Threat:     "Nobody will own a release that bricked devices: \"I never published that\".",
			Mitigation: "Each release manifest is signed by the engineer's registered key, and its upload, promotions and yank are audited with the account that made them.",
			check:      checkReleaseOwnership,
		},
		{
			ID: "R2", Category: Repudiation, Title: "Unrecorded field update",
			Threat:     "A technician updates, or fails to update, a device and the record is lost or denied.",
			Mitigation: "The console keeps a record of every board update (offline too) and sends it to the audit log as device.update.",
			check:      checkUpdateRecords,
		},
		{
			ID: "R3", Category: Repudiation, Title: "Denied production",
			Threat:     "A programming station builds devices and nobody can tell which ones, when, or under which order.",
			Mitigation: "Every production ticket is issued by the server against an order and audited; its id is carried in the device's certificate and the device is registered by the station.",
			check:      checkProductionRecords,
		},
	}
}

func checkClones(v *view) Status {
	if v.srv == nil {
		return unknown("the device registry is")
	}
	d := v.srv.Devices
	if d.Total == 0 {
		return Status{Level: Warn, Text: "no device registered yet: clones cannot be detected until boards are provisioned with the registry",
			Action: "provision boards with the registry (the Identity page, or a station)"}
	}
	st := Status{Level: OK, Text: fmt.Sprintf("%s registered with their own identity keys; duplicate ids and certificates are refused", plural(d.Total, "device", "devices"))}
	if v.profile == nil {
		st.Text += "; locking unknown (no profile)"
		st.Level = Worst(st.Level, Unknown)
	} else if v.profile.LeaveUnlocked {
		st.Level = Warn
		st.Text += "; the profile leaves boards unlocked ⚠"
		st.Action = "clear \"leave unlocked\" in the provisioning profile for production boards"
	} else {
		st.Text += "; boards are locked after provisioning"
	}
	return st
}

func checkRoots(v *view) Status {
	if v.srv == nil {
		return unknown("the device registry is")
	}
	switch d := v.srv.Devices; {
	case d.Total == 0:
		return Status{Level: OK, Text: "no device registered yet: the first one pins the product's root"}
	case d.Roots > 1:
		return Status{Level: Risk, Text: fmt.Sprintf("devices chain to %d different roots", d.Roots),
			Action: "find the devices registered under another root and revoke them"}
	default:
		return Status{Level: OK, Text: fmt.Sprintf("all %s chain to one pinned root", plural(d.Total, "device", "devices"))}
	}
}

func checkConsoleTransport(v *view) Status {
	if v.srv == nil {
		return unknown("the server's configuration is")
	}
	a := v.srv.Accounts
	st := Status{Level: OK, Text: "served in a secure context; argon2id passwords and rate-limited sign-in"}
	if !v.srv.HTTPS {
		st = Status{Level: Risk, Text: "the console is served over plain http: sessions and releases can be intercepted",
			Action: "serve the console over https (a reverse proxy with TLS)"}
	}
	if a.NeverExpire > 0 {
		st.Level = Worst(st.Level, Warn)
		st.Text += fmt.Sprintf("; %s never expire ⚠", plural(a.NeverExpire, "API token", "API tokens"))
		if st.Action == "" {
			st.Action = "give API tokens an expiry, and revoke the ones no rig uses"
		}
	}
	return st
}

func checkForgedImage(v *view) Status {
	if v.srv == nil {
		return unknown("the product's keys are")
	}
	k, d := v.srv.Keys, v.srv.Devices
	if k.Active == 0 {
		return Status{Level: Risk, Text: "no release-signing key is registered: nothing can be published, and nothing vouches for images",
			Action: "generate a signing key on the Keys page and register it with the product"}
	}
	parts := []string{"images signed by " + plural(k.Active, "registered key", "registered keys")}
	st := Status{Level: OK}
	switch {
	case v.profile == nil:
		st.Level = Unknown
		parts = append(parts, "boot key in the profile unknown")
	case v.profile.BootKeyHash == "":
		st.Level = Risk
		parts = append(parts, "the profile fuses no boot key: boards boot any image with a valid hash ✗")
		st.Action = "set the boot key in the provisioning profile to the product's signing key"
	case !slices.Contains(k.Fingerprints, strings.ToLower(v.profile.BootKeyHash)):
		st.Level = Risk
		parts = append(parts, "the profile's boot key is not an active release key of the product ✗")
		st.Action = "fuse the key that signs the product's releases"
	}
	if d.Total > 0 {
		parts = append(parts, "boot key provisioned on "+ofN(d.WithBootKey, d.Total, "devices"))
		if d.WithBootKey < d.Total {
			st.Level = Worst(st.Level, Warn)
			if st.Action == "" {
				st.Action = "re-provision or retire the boards that have no boot key fused"
			}
		}
		if d.WithRegisteredBootKey < d.WithBootKey {
			st.Level = Worst(st.Level, Warn)
			parts = append(parts, fmt.Sprintf("%d fused with a key that is no longer active", d.WithBootKey-d.WithRegisteredBootKey))
		}
	}
	st.Text = strings.Join(parts, "; ")
	return st
}

func checkReleaseIntegrity(v *view) Status {
	if v.srv == nil {
		return unknown("the product's releases are")
	}
	r := v.srv.Releases
	if r.Total == 0 {
		return Status{Level: OK, Text: "no release yet; every upload is verified before it is stored"}
	}
	return Status{Level: OK, Text: fmt.Sprintf("%s, each verified on upload against a registered key and again in every console before use",
		plural(r.Total, "signed release", "signed releases"))}
}

func checkRollback(v *view) Status {
	if v.srv == nil {
		return unknown("the product's releases are")
	}
	r := v.srv.Releases
	switch {
	case r.Total == 0:
		return Status{Level: OK, Text: "no release yet; channels accept only rising versions"}
	case r.WithCounter == r.Total:
		return Status{Level: OK, Text: fmt.Sprintf("channels accept only rising versions; %s carry a security counter", ofN(r.WithCounter, r.Total, "releases"))}
	case r.WithCounter == 0:
		return Status{Level: Warn, Text: "channels accept only rising versions, but no release carries a security counter: the bootloader alone does not stop a downgrade ⚠",
			Action: "publish releases with a security counter (imgtool -s auto)"}
	default:
		return Status{Level: Warn, Text: fmt.Sprintf("only %s carry a security counter ⚠", ofN(r.WithCounter, r.Total, "releases")),
			Action: "give every release a security counter"}
	}
}

func checkPackages(v *view) Status {
	if v.srv == nil {
		return unknown("the product's production packages are")
	}
	p := v.srv.Production
	if p.Packages == 0 {
		return Status{Level: OK, Text: "no production package yet; packages are signed and encrypted to the station when they are built"}
	}
	return Status{Level: OK, Text: fmt.Sprintf("%s, each signed by a registered key and encrypted to its station",
		plural(p.Packages, "production package", "production packages"))}
}

func checkAudit(v *view) Status {
	if v.srv == nil {
		return unknown("the audit log is")
	}
	a := v.srv.Audit
	if a.Entries == 0 {
		return Status{Level: Warn, Text: "the audit log is empty", Action: "check the server's data directory"}
	}
	return Status{Level: OK, Text: fmt.Sprintf("%d hash-chained entries, head %s; keep exported heads elsewhere to detect a rewrite", a.Entries, shortHead(a.Head))}
}

func shortHead(h string) string {
	if seq, hash, ok := strings.Cut(h, " "); ok && len(hash) > 12 {
		return seq + " " + hash[:12] + "…"
	}
	return h
}

func checkReleaseOwnership(v *view) Status {
	if v.srv == nil {
		return unknown("the product's releases are")
	}
	r := v.srv.Releases
	if r.Total == 0 {
		return Status{Level: OK, Text: "no release yet; each will be signed and its upload audited"}
	}
	st := Status{Level: OK, Text: fmt.Sprintf("%s signed by %s and uploaded by %s, each audited",
		plural(r.Total, "release", "releases"), plural(r.Signers, "key", "keys"), plural(r.Uploaders, "account", "accounts"))}
	if r.Signers == 1 && r.Uploaders > 1 {
		st.Level = Warn
		st.Text += "; several engineers share one signing key ⚠"
		st.Action = "give each engineer a key of their own, so a signature names its author"
	}
	return st
}

func checkUpdateRecords(v *view) Status {
	if v.srv == nil {
		return unknown("the update records are")
	}
	d := v.srv.Devices
	return Status{Level: OK, Text: fmt.Sprintf("%s in the audit log; the console keeps records made offline until they are sent",
		plural(d.Updates, "device update record", "device update records"))}
}

func checkProductionRecords(v *view) Status {
	if v.srv == nil {
		return unknown("the production records are")
	}
	p, d := v.srv.Production, v.srv.Devices
	if p.Packages == 0 {
		return Status{Level: OK, Text: "no production order yet; each ticket will be issued and audited by the server"}
	}
	st := Status{Level: OK, Text: fmt.Sprintf("%s audited; %s from batches registered, %d with their ticket",
		plural(p.Issued, "production ticket", "production tickets"), plural(d.FromBatches, "device", "devices"), d.WithTicket)}
	return st
}
