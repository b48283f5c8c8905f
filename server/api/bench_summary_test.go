package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/internal/stride"
	"trustforge/server/store"
)

// BenchmarkProductSummary serves the security plan's facts of a product
// with 10,000 releases and 100,000 registered boards: what the Security
// page asks for on each visit.
func BenchmarkProductSummary(b *testing.B) {
	const releases, devices = 10_000, 100_000
	e := newEnv(b)
	ctx := context.Background()
	st := e.srv.store
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(action, subject string) audit.Event {
		return audit.Event{Time: at, Actor: "bench", Action: action, Subject: subject}
	}
	for i := range releases {
		id := fmt.Sprintf("%064x", i+1)
		manifest := fmt.Sprintf(`{"product":"sensor","version":"1.0.%d","recipients":["age1r%d"],"passphrase":%v}`, i, i%7, i%10 == 0)
		r := store.Release{ID: id, Product: "sensor", Image: i, Version: fmt.Sprintf("1.0.%d", i), SecurityCounter: uint64(i % 3),
			Channel: "beta", Signer: "signer", Manifest: []byte{0xd2}, ManifestJSON: []byte(manifest), Prefix: []byte("prefix"),
			PayloadDigest: sha256.Sum256([]byte(id)), PayloadSize: 1024, Uploaded: at, UploadedBy: "engineer1"}
		if err := st.PublishRelease(ctx, r, store.Head{}, ev("release.publish", id)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range devices {
		id := fmt.Sprintf("%016x", i+1)
		sum := sha256.Sum256([]byte(id))
		d := store.Device{ID: id, Product: "sensor", Model: "m", Rev: "1", Serial: hex.EncodeToString(sum[:8]), Issuer: fmt.Sprintf("issuer%d", i%4),
			Subject: "CN=" + id, Chain: []byte{0x30}, Root: "root", BootKeyHash: "boot", Provisioned: at, Operator: "station1"}
		if err := st.RegisterDevice(ctx, d, ev("device.register", id)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		var f stride.ServerFacts
		e.mustJSONOut("GET", "/api/products/sensor/summary", e.tokens["engineer"], nil, 200, &f)
		if f.Releases.Total != releases || f.Devices.Total != devices {
			b.Fatalf("summary counts %d releases, %d devices; want %d, %d", f.Releases.Total, f.Devices.Total, releases, devices)
		}
	}
}
