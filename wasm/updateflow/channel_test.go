package updateflow

import (
	"testing"
	"time"

	"trustforge/wasm/client"
)

func TestDefaultChannel(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rel := func(v string, at int, chans ...string) client.Release {
		r := client.Release{Version: v, Uploaded: t0.Add(time.Duration(at) * time.Hour)}
		for _, c := range chans {
			r.Offers = append(r.Offers, client.Offer{Channel: c})
		}
		return r
	}
	yanked := rel("9.0.0", 9, "stable")
	yanked.Yanked = &client.Yank{Reason: "bad"}
	chans := []string{"beta", "stable"}
	tests := []struct {
		name string
		rels []client.Release
		want string
	}{
		{"nothing offered", nil, ""},
		{"newest on beta", []client.Release{rel("1.0.0", 1, "stable"), rel("1.1.0", 2, "beta")}, "beta"},
		{"newest on stable", []client.Release{rel("1.2.0", 1, "stable"), rel("1.1.0", 2, "beta")}, "stable"},
		{"promoted: the product's first channel", []client.Release{rel("2.0.0", 1, "stable", "beta")}, "beta"},
		{"versions, not upload order", []client.Release{rel("1.10.0", 1, "stable"), rel("1.9.0", 2, "beta")}, "stable"},
		{"same version: the later upload", []client.Release{rel("1.0.0+1", 1, "stable"), rel("1.0.0+1", 2, "beta")}, "beta"},
		{"yanked ignored", []client.Release{yanked, rel("1.0.0", 1, "beta")}, "beta"},
		{"channel unknown to the product", []client.Release{rel("1.0.0", 1, "nightly")}, "nightly"},
		{"unparsable version ignored", []client.Release{rel("banana", 5, "stable"), rel("0.1.0", 1, "beta")}, "beta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultChannel(chans, tt.rels); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
