package kit

import "testing"

func TestVersionText(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4": "1.2.3+4", "1.2.3.0": "1.2.3", "1.2.3": "1.2.3", "0.0.0.65535": "0.0.0+65535",
		"1.2.3+4": "1.2.3+4", "1.2.3+0": "1.2.3", "2.0.0-rc.1": "2.0.0-rc.1", "": "",
	} {
		if got := VersionText(in); got != want {
			t.Errorf("versionText(%q) = %q, want %q", in, got, want)
		}
	}
}
