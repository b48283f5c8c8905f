package api

import (
	"encoding/json"
	"testing"

	"trustforge/internal/stride"
	"trustforge/server/internal/testbundle"
)

// The summary counts releases from what was kept of their manifests at
// publish: each test bundle is encrypted to a recipient of its own.
func TestSummaryCountsReleaseManifests(t *testing.T) {
	e := newEnv(t)
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		out := e.publish(e.bundle(testbundle.Release{Version: v, Counter: uint32(i)}))
		if rs, _ := out.Manifest["recipients"].([]any); len(rs) != 1 {
			t.Fatalf("release %s has recipients %v, want one", v, out.Manifest["recipients"])
		}
	}
	var f stride.ServerFacts
	e.mustJSONOut("GET", "/api/products/sensor/summary", e.tokens["engineer"], nil, 200, &f)
	r := f.Releases
	if r.Total != 3 || r.Recipients != 3 || r.Passphrase != 0 || r.WithCounter != 2 || r.Signers != 1 || r.Uploaders != 1 || r.Yanked != 0 {
		j, _ := json.Marshal(r)
		t.Errorf("summary releases %s; want 3 releases, 3 recipients, 2 with a counter, 1 signer and uploader", j)
	}
}
