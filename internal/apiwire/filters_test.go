package apiwire

import "testing"

func TestFiltersEncode(t *testing.T) {
	two := 2
	for _, tt := range []struct {
		name string
		got  string
		want string
	}{
		{"no device filter", DeviceFilter{}.Encode(), ""},
		{"device filter", DeviceFilter{Product: "acme sensor", Query: "0a0b", Revoked: true, Limit: 1000}.Encode(),
			"limit=1000&product=acme+sensor&q=0a0b&revoked=true"},
		{"no release filter", ReleaseFilter{}.Encode(), ""},
		{"release filter", ReleaseFilter{Product: "acme", Channel: "beta", Version: "1.2.3+4", Component: &two, Yanked: true, Limit: 5}.Encode(),
			"channel=beta&component=2&limit=5&product=acme&version=1.2.3%2B4&yanked=true"},
		{"zero limit and component 0", ReleaseFilter{Component: new(int)}.Encode(), "component=0"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
