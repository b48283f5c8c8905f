package fwupdate

import (
	"encoding/json"
	"testing"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/devices/smp"
)

// FuzzParseBoardVersion feeds version strings as boards report them.
func FuzzParseBoardVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "1.2.3.4", "0.0.0", "255.255.65535.4294967295", "1.2", "1..3", "-1.2.3", "1.2.3.4.5", "９.1.1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseBoardVersion(s)
		if err != nil {
			return
		}
		// A version that parses compares equal to itself and round-trips
		// through the manifest's form.
		if CompareVersions(v, v) != 0 {
			t.Fatalf("%q: not equal to itself", s)
		}
		if _, err := bundle.ParseVersion(v.String()); err != nil {
			t.Fatalf("%q parsed to %q, which is not a valid release version: %v", s, v, err)
		}
	})
}

// FuzzRecordJSON feeds records as the release server receives them: they
// decode and validate without panicking, and a valid one survives a round
// trip.
func FuzzRecordJSON(f *testing.F) {
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	good := Record{ID: "0123456789abcdef0123456789abcdef", Started: start, Finished: start.Add(time.Minute), Outcome: Updated,
		Product: "thermo", Version: "1.2.0", Steps: []Step{{Name: "upload", Started: start, Millis: 1200, OK: true}}}
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"id":"x","outcome":"updated"}`))
	f.Add([]byte(`{"id":"0123456789abcdef0123456789abcdef","outcome":"refused","started":"2026-01-01T00:00:00Z","finished":"2025-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"steps":[{"name":"","ms":-1}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Record
		if json.Unmarshal(data, &r) != nil {
			return
		}
		if r.Validate() != nil {
			return
		}
		_ = r.Text()
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var again Record
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatal(err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("a valid record is invalid after a round trip: %v", err)
		}
	})
}

// FuzzCheck checks releases against boards whose slots say anything: it
// never panics, and it only refuses with a *Refusal.
func FuzzCheck(f *testing.F) {
	f.Add("1.2.0", "1.3.0", "hw", "hw", true, false, "1.1.0", false)
	f.Add("1.2.0.7", "1.2.0+6", "", "hw", false, true, "", true)
	f.Add("garbage", "0.0.1", "a", "", true, true, "1.2.3", true)
	f.Fuzz(func(t *testing.T, running, release, boardHW, releaseHW string, confirmed, pending bool, other string, active bool) {
		v, err := bundle.ParseVersion(release)
		if err != nil {
			return
		}
		m := &bundle.Manifest{Version: v}
		if releaseHW != "" {
			m.Hardware = []string{releaseHW}
		}
		s := &Summary{Hardware: boardHW, Slots: []smp.SlotImage{
			{Slot: 0, Version: running, Active: active, Confirmed: confirmed},
			{Slot: 1, Version: other, Pending: pending},
		}}
		err = Check(m, s, CheckOptions{})
		if err == nil {
			return
		}
		var r *Refusal
		if !asRefusal(err, &r) || r.Reason == "" {
			t.Fatalf("Check = %v, want a *Refusal with a reason", err)
		}
	})
}

func asRefusal(err error, r **Refusal) bool {
	ref, ok := err.(*Refusal)
	*r = ref
	return ok
}
