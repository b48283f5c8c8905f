package api

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/production"
	"trustforge/internal/apiwire"
	"trustforge/server/internal/testbundle"
)

// BenchmarkPublish uploads 16 MiB bundles through HTTP, a new version each
// time. cmd/releasebench measures the server in its own process, with its
// peak RSS, at 256 MiB.
func BenchmarkPublish(b *testing.B) {
	e := newEnv(b)
	bundles := make([][]byte, b.N)
	for i := range bundles {
		bundles[i] = e.bundle(testbundle.Release{Version: fmt.Sprintf("1.%d.0", i), ImageSize: 16 << 20})
	}
	b.SetBytes(int64(len(bundles[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := e.upload(bundles[i], "engineer")
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("upload: %d", resp.StatusCode)
		}
	}
}

// BenchmarkDownload downloads a 16 MiB bundle through HTTP.
func BenchmarkDownload(b *testing.B) {
	e := newEnv(b)
	tfb := e.bundle(testbundle.Release{Version: "1.0.0", ImageSize: 16 << 20})
	rel := e.publish(tfb)
	b.SetBytes(int64(len(tfb)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := e.request("GET", "/api/releases/"+rel.ID+"/bundle", e.tokens["technician"], nil, nil)
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != int64(len(tfb)) {
			b.Fatalf("download: %d, %d bytes", resp.StatusCode, n)
		}
	}
}

// BenchmarkTakeTicket takes production tickets through HTTP, one per
// device, as stations do: the count, the signature and the audit entry
// in one transaction each.
func BenchmarkTakeTicket(b *testing.B) {
	e := newEnv(b)
	o := newOrder(b, e)
	key, _ := keys.NewPrivateKey(e.signer.Key)
	signer, _ := key.Signer()
	tfp := o.build(b, production.MaxCount, []bundle.Recipient{o.station.Recipient()}, signer)
	var pkg apiwire.Package
	decode(b, o.upload(tfp), 201, &pkg)
	path := "/api/production/packages/" + pkg.ID + "/tickets"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := e.doJSON("POST", path, e.tokens["station"], map[string]string{"device": fmt.Sprintf("%08x", i)})
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("ticket %d: %d", i, resp.StatusCode)
		}
	}
}
