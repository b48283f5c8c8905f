package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/server/store"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestRequestsAndBytes(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/releases", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(201)
	})
	mux.HandleFunc("GET /api/releases/{id}/bundle", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, strings.NewReader(strings.Repeat("x", 5000)))
	})
	h := m.Wrap(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/releases", strings.NewReader(strings.Repeat("y", 1234))))
	for range 2 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/releases/abc/bundle", nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nowhere", nil))
	m.ObserveStore("tx", 3*time.Millisecond)
	out := scrape(t, m)
	for _, want := range []string{
		`trustforge_http_requests_total{code="201",method="POST",route="POST /api/releases"} 1`,
		`trustforge_http_requests_total{code="200",method="GET",route="GET /api/releases/{id}/bundle"} 2`,
		`trustforge_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`trustforge_http_request_body_bytes_total{route="POST /api/releases"} 1234`,
		`trustforge_http_response_body_bytes_total{route="GET /api/releases/{id}/bundle"} 10000`,
		`trustforge_store_seconds_count{op="tx"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestProductionCounts(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	ev := audit.Event{Time: now, Actor: "t", Action: "x"}
	if err := st.CreateProduct(ctx, store.Product{Name: "thermo", Channels: []string{"stable"}, Created: now}, ev); err != nil {
		t.Fatal(err)
	}
	p := store.ProductionPackage{ID: "pkg1", Product: "thermo", Batch: "b1", Count: 7, NotBefore: now.Add(-time.Hour), Expires: now.Add(time.Hour),
		Release: "r", Version: "1.0.0", ImageMode: "device", Signer: "fp", CAKeyID: "ca", Manifest: []byte{1}, ManifestJSON: []byte("{}"),
		Prefix: []byte{1}, PayloadSize: 1, Uploaded: now}
	if err := st.AddPackage(ctx, p, ev); err != nil {
		t.Fatal(err)
	}
	_, err = st.IssueTickets(ctx, store.TicketRequest{Package: "pkg1", N: 3, Now: now,
		New: func(seq int) (store.ProductionTicket, error) {
			return store.ProductionTicket{ID: string(rune('a' + seq)), Ticket: []byte{1}, Issued: now}, nil
		},
		Event: func(store.ProductionTicket) audit.Event { return ev }, Refusal: func(string) audit.Event { return ev }})
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	m.WatchProduction(st)
	out := scrape(t, m)
	for _, want := range []string{
		`trustforge_production_tickets_issued{batch="b1",package="pkg1",product="thermo"} 3`,
		`trustforge_production_tickets_authorised{batch="b1",package="pkg1",product="thermo"} 7`,
		`trustforge_production_tickets_refused{batch="b1",package="pkg1",product="thermo"} 0`,
		`trustforge_store_up 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s:\n%s", want, out)
		}
	}
	st.Close()
	if out := scrape(t, m); !strings.Contains(out, "trustforge_store_up 0") {
		t.Error("a closed store is not reported down")
	}
}
