package kit

import (
	"testing"
	"time"
)

// TestDescribeOffline: what the top bar says for each answer the browser
// can give about the console's offline copy and the network.
func TestDescribeOffline(t *testing.T) {
	saved := offlineStore{Secure: true, Supported: true, Registered: true, Active: true}
	tests := []struct {
		name string
		f    offlineFacts
		want offlineView
	}{
		{"saved, online", offlineFacts{offlineStore: saved, Online: true}, offlineReady},
		{"saved, offline", offlineFacts{offlineStore: saved}, offlineWorking},
		{"saved, an update installing", offlineFacts{offlineStore: offlineStore{Secure: true, Supported: true, Registered: true, Active: true, Installing: true}, Online: true}, offlineReady},
		{"installing", offlineFacts{offlineStore: offlineStore{Secure: true, Supported: true, Registered: true, Installing: true}, Online: true, Waited: time.Hour}, offlineSaving},
		{"not registered yet", offlineFacts{offlineStore: offlineStore{Secure: true, Supported: true}, Online: true, Waited: time.Second}, offlineSaving},
		{"never registered", offlineFacts{offlineStore: offlineStore{Secure: true, Supported: true}, Online: true, Waited: registerWithin}, offlineFailed},
		{"registered, install failed", offlineFacts{offlineStore: offlineStore{Secure: true, Supported: true, Registered: true}, Online: true}, offlineFailed},
		{"plain HTTP", offlineFacts{Online: true}, offlineUnavailable},
		{"no service workers", offlineFacts{offlineStore: offlineStore{Secure: true}, Online: true}, offlineNoWorkers},
		{"plain HTTP, offline", offlineFacts{}, offlineUnsaved},
		{"installing, offline", offlineFacts{offlineStore: offlineStore{Secure: true, Supported: true, Registered: true, Installing: true}}, offlineUnsaved},
	}
	for _, tt := range tests {
		if got := describeOffline(tt.f); got != tt.want {
			t.Errorf("%s: %q (%s), want %q (%s)", tt.name, got.Label, got.State, tt.want.Label, tt.want.State)
		}
	}
	// Each state has its own data-state, and all but checking a label and
	// an explanation.
	seen := map[string]bool{}
	for _, v := range []offlineView{offlineReady, offlineWorking, offlineSaving, offlineUnsaved, offlineUnavailable, offlineNoWorkers, offlineFailed} {
		if seen[v.State] || v.Label == "" || v.Title == "" {
			t.Errorf("state %q: duplicate, or without label or explanation", v.State)
		}
		seen[v.State] = true
	}
}
