package updateflow

import "testing"

func TestParseBootLog(t *testing.T) {
	tests := []struct {
		name, log                 string
		version, project, refusal string
	}{
		{"booted", "ESP-ROM:esp32c3-api1-20210207\r\nI (45) boot: Loaded app from partition at offset 0x10000\r\n" +
			"I (60) app_init: Project name:     pump-ctl\r\nI (60) app_init: App version:      2.1.0\r\n", "2.1.0", "pump-ctl", ""},
		{"refused", "ESP-ROM:esp32c3-api1-20210207\r\nE (40) boot: app partition \"factory\" at 0x10000: secure boot check fail\r\n",
			"", "", `app partition "factory" at 0x10000: secure boot check fail`},
		{"older IDF", "I (312) cpu_start: App version:      v1.0-dirty\n", "v1.0-dirty", "", ""},
		{"nothing", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, p, r := parseBootLog(tt.log)
			if v != tt.version || p != tt.project || r != tt.refusal {
				t.Errorf("got %q %q %q, want %q %q %q", v, p, r, tt.version, tt.project, tt.refusal)
			}
		})
	}
}

// FuzzParseBootLog: whatever a board prints, reading its boot log does not
// panic.
func FuzzParseBootLog(f *testing.F) {
	f.Add("I (60) app_init: App version:      2.1.0\r\n")
	f.Add("E (40) boot: no app partition\r\n")
	f.Add("App version:")
	f.Fuzz(func(t *testing.T, log string) { parseBootLog(log) })
}
