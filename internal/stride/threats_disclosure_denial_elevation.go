package stride

import (
	"fmt"
	"strings"
)

func disclosureThreats() []Threat {
	return []Threat{
		{
			ID: "I1", Category: InformationDisclosure, Title: "Firmware disclosure from the server or in transit",
			Threat:     "A breach of the release server, a backup, a mirror or a network tap gives away the firmware.",
			Mitigation: "Releases are age-encrypted in the engineer's browser to the people and stations who may open them; the server stores ciphertext and never holds an identity.",
			check:      checkReleaseEncryption,
		},
		{
			ID: "I2", Category: InformationDisclosure, Title: "Firmware extraction from a device's update",
			Threat:     "The image sent to a device (a captured update, a read-out secondary slot) is read by someone holding the device or its link.",
			Mitigation: "With device encryption, each board generates an X25519 key and images are encrypted to that one board (MCUboot ENC_X25519); only its bootloader can decrypt them.",
			check:      checkDeviceEncryption,
		},
		{
			ID: "I3", Category: InformationDisclosure, Title: "Leaked signing or CA keys",
			Threat: "Release-signing or device CA private keys are copied from a laptop, a CI secret or the server.",
			Mitigation: "Keys are generated and kept in each engineer's browser vault, sealed with their passphrase (scrypt, age); the server holds public keys only; " +
				"a leaked release key is revoked on the server and signs nothing new; a batch CA key is sealed to one station and expires with its order.",
			check: checkKeys,
		},
	}
}

func denialThreats() []Threat {
	return []Threat{
		{
			ID: "D1", Category: DenialOfService, Title: "Flooding the server",
			Threat: "Password guessing, huge uploads or floods of requests exhaust the release server or lock people out.",
			Mitigation: "Sign-in is rate limited per user and per address; JSON bodies and uploads are bounded and streamed, checked before anything is stored; " +
				"argon2id work runs in bounded slots; production tickets come in bounded blocks.",
			check: checkLimits,
		},
		{
			ID: "D2", Category: DenialOfService, Title: "Bricked devices after an update",
			Threat:     "A faulty or withdrawn release is installed and boards stop working.",
			Mitigation: "Updates boot once under test and are confirmed only after the new version answers, else MCUboot reverts; a yanked release is no longer offered or downloadable.",
			check:      checkBricking,
		},
		{
			ID: "D3", Category: DenialOfService, Title: "Revoked devices left in service",
			Threat:     "A cloned or stolen device whose certificate was revoked keeps being trusted because nobody publishes the revocation.",
			Mitigation: "The registry revokes devices and publishes the CA's revocation list at the certificates' distribution point.",
			check:      checkRevocation,
		},
	}
}

func elevationThreats() []Threat {
	return []Threat{
		{
			ID: "E1", Category: ElevationOfPrivilege, Title: "Privilege gained by a technician or station account",
			Threat: "A technician's or a station's account (or its stolen token) publishes, signs, registers keys or reads what it should not.",
			Mitigation: "The server enforces one role table on every endpoint: technicians and stations download, record updates and register boards; " +
				"only engineers publish and register keys; only administrators manage accounts; the console shows each role only its actions.",
			check: checkRoles,
		},
		{
			ID: "E2", Category: ElevationOfPrivilege, Title: "Over-production by the contract manufacturer",
			Threat: "The manufacturer builds more devices than ordered, or after the order ended, with genuine identities and firmware.",
			Mitigation: "A production package carries an authorised count and an expiry; before each device the station needs a server-signed ticket, refused past the count or the expiry; " +
				"the ticket goes into the device's certificate, so a device without a valid ticket is detectable; offline stations get bounded blocks.",
			check: checkOverProduction,
		},
		{
			ID: "E3", Category: ElevationOfPrivilege, Title: "Debug or provisioning access on a shipped device",
			Threat:     "A shipped board still accepts provisioning writes: its identity or boot key can be replaced in the field.",
			Mitigation: "Provisioning ends by locking the board: every provisioning write is refused afterwards, and the boot key hash is fused once.",
			check:      checkLocking,
		},
	}
}

func checkReleaseEncryption(v *view) Status {
	if v.srv == nil {
		return unknown("the product's releases are")
	}
	r := v.srv.Releases
	if r.Total == 0 {
		return Status{Level: OK, Text: "no release yet; releases are always encrypted before upload"}
	}
	st := Status{Level: OK, Text: fmt.Sprintf("releases encrypted: %d to %s", r.Total-r.Passphrase, plural(r.Recipients, "age recipient", "age recipients"))}
	if r.Passphrase > 0 {
		st.Level = Warn
		st.Text += fmt.Sprintf("; %s a passphrase only ⚠", plural(r.Passphrase, "opens with", "open with"))
		st.Action = "encrypt releases to recipients (technicians' and stations' vault identities) rather than a shared passphrase"
	}
	return st
}

func checkDeviceEncryption(v *view) Status {
	if v.profile == nil {
		return noProfile()
	}
	var parts []string
	st := Status{Level: OK}
	if !v.profile.EncryptImages {
		st.Level = Warn
		parts = append(parts, "device encryption off ⚠: images reach boards encrypted only by the release's age layer, in the clear on the last hop")
		st.Action = "turn on \"encrypt images to each board\" in the provisioning profile"
	} else {
		parts = append(parts, "device encryption on: each board gets its own X25519 key")
	}
	if v.srv != nil {
		d, p := v.srv.Devices, v.srv.Production
		if d.Total > 0 {
			parts = append(parts, "encryption key on "+ofN(d.WithEncryptionKey, d.Total, "devices"))
			if v.profile.EncryptImages && d.WithEncryptionKey < d.Total {
				st.Level = Worst(st.Level, Warn)
				if st.Action == "" {
					st.Action = "re-provision the boards that have no encryption key"
				}
			}
		}
		if p.ClearImages > 0 {
			parts = append(parts, fmt.Sprintf("%s program the image in the clear (factory)", plural(p.ClearImages, "production package", "production packages")))
		}
	}
	st.Text = strings.Join(parts, "; ")
	return st
}

func checkKeys(v *view) Status {
	if v.srv == nil {
		return unknown("the product's keys are")
	}
	k := v.srv.Keys
	st := Status{Level: OK, Text: fmt.Sprintf("%s, %s; private keys stay in browser vaults and the server holds none",
		plural(k.Active, "active signing key", "active signing keys"), plural(k.Revoked, "revoked", "revoked"))}
	if k.Active > 3 {
		st.Level = Warn
		st.Text += " ⚠ many keys can sign"
		st.Action = "revoke the signing keys nobody uses any more"
	}
	return st
}

func checkLimits(v *view) Status {
	if v.srv == nil {
		return unknown("the server's limits are")
	}
	l := v.srv.Limits
	return Status{Level: OK, Text: fmt.Sprintf("sign-in bursts of %d per account and address and %d per address, with a per-account backoff; JSON bodies ≤ %s, uploads ≤ %s, verified while streaming",
		l.SignInPerUser, l.SignInPerAddress, bytesText(l.MaxJSON), bytesText(l.MaxUpload))}
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func checkBricking(v *view) Status {
	if v.srv == nil {
		return unknown("the product's releases are")
	}
	r := v.srv.Releases
	st := Status{Level: OK, Text: "updates boot under test and are confirmed only once the new version answers"}
	if r.Yanked > 0 {
		st.Text += fmt.Sprintf("; %s withdrawn and no longer offered", plural(r.Yanked, "release", "releases"))
	}
	return st
}

func checkRevocation(v *view) Status {
	if v.srv == nil {
		return unknown("the device registry is")
	}
	d := v.srv.Devices
	switch {
	case d.Revoked > 0 && !d.CRLPublished:
		return Status{Level: Risk, Text: fmt.Sprintf("%s revoked but no revocation list published ✗", plural(d.Revoked, "device", "devices")),
			Action: "publish the CA's revocation list on the Identity page"}
	case d.Revoked > 0:
		return Status{Level: OK, Text: fmt.Sprintf("%s revoked; the revocation list is published", plural(d.Revoked, "device", "devices"))}
	}
	st := Status{Level: OK, Text: "no device revoked"}
	if v.profile != nil && v.profile.CRLURL == "" {
		st.Level = Warn
		st.Text += "; device certificates name no revocation list ⚠"
		st.Action = "set a CRL URL in the certificate template, so relying parties can check revocation"
	}
	return st
}

func checkRoles(v *view) Status {
	if v.srv == nil {
		return unknown("the server's accounts are")
	}
	a := v.srv.Accounts
	st := Status{Level: OK, Text: fmt.Sprintf("one role table on every endpoint: %s, %s, %s, %s",
		plural(a.Admins, "administrator", "administrators"), plural(a.Engineers, "engineer", "engineers"),
		plural(a.Technicians, "technician", "technicians"), plural(a.Stations, "station", "stations"))}
	if a.Admins > 3 {
		st.Level = Warn
		st.Text += " ⚠ many administrators"
		st.Action = "keep two or three administrators; give others the role their work needs"
	}
	if a.Admins == 1 && a.Engineers == 1 && a.AdminEngineers == 1 {
		st.Level = Warn
		st.Text += " ⚠ the only publisher is also the only administrator: one account (or its stolen password) can grant itself any right, register a signing key and publish, with no second person to notice"
		st.Action = "separate duties: create an engineer account for publishing (Administration), or add a second administrator who reviews the audit log"
	}
	return st
}

func checkOverProduction(v *view) Status {
	if v.srv == nil {
		return unknown("the production orders are")
	}
	p, d := v.srv.Production, v.srv.Devices
	if p.Packages == 0 && d.FromBatches == 0 {
		return Status{Level: OK, Text: "no production order yet: devices are provisioned by engineers only"}
	}
	st := Status{Level: OK, Text: fmt.Sprintf("%s issued of %d authorised in %s; %d refused",
		plural(p.Issued, "ticket", "tickets"), p.Authorised, plural(p.Open, "open order", "open orders"), p.Refused)}
	if missing := d.FromBatches - d.WithTicket; missing > 0 {
		st.Level = Risk
		st.Text += fmt.Sprintf("; %s from a batch CA without a valid ticket ✗", plural(missing, "device", "devices"))
		st.Action = "investigate and revoke the devices built beyond the order"
	}
	if p.MaxBlock > 0 {
		st.Text += fmt.Sprintf("; offline blocks ≤ %d", p.MaxBlock)
	}
	return st
}

func checkLocking(v *view) Status {
	if v.profile == nil {
		return noProfile()
	}
	if v.profile.LeaveUnlocked {
		return Status{Level: Risk, Text: "the provisioning profile leaves boards unlocked ✗",
			Action: "clear \"leave unlocked\": only development boards should stay open"}
	}
	return Status{Level: OK, Text: "boards are locked at the end of provisioning; the boot key hash is fused once"}
}
