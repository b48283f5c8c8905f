package espimg

import (
	"errors"
	"testing"
)

func TestParseWebToolsManifest(t *testing.T) {
	m := []byte(`{"name":"Blink","version":"1.2.0","new_install_prompt_erase":true,"builds":[
	 {"chipFamily":"ESP32","parts":[{"path":"esp32/app.bin","offset":65536}]},
	 {"chipFamily":"ESP32-C3","parts":[{"path":"c3/bootloader.bin","offset":0},{"path":"c3/partitions.bin","offset":"0x8000"},{"path":"c3/app.bin","offset":65536}]}]}`)
	b, err := ParseWebToolsManifest(m, ESP32C3)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "Blink" || b.Version != "1.2.0" || len(b.Files) != 3 || b.Files[1].Offset != 0x8000 || b.Files[2].Path != "c3/app.bin" {
		t.Fatalf("%+v", b)
	}
	if _, err := ParseWebToolsManifest(m, ESP32S3); !errors.Is(err, ErrWrongChip) {
		t.Errorf("no S3 build: %v", err)
	}
	for _, bad := range []string{
		`{"builds":[{"chipFamily":"ESP32-C3","parts":[{"path":"../../etc/passwd","offset":0}]}]}`,
		`{"builds":[{"chipFamily":"ESP32-C3","parts":[{"path":"/abs.bin","offset":0}]}]}`,
		`{"builds":[{"chipFamily":"ESP32-C3","parts":[{"path":"a.bin","offset":"zz"}]}]}`,
		`{"builds":[{"chipFamily":"ESP32-C3","parts":[]}]}`,
		`not json`,
	} {
		if _, err := ParseWebToolsManifest([]byte(bad), ESP32C3); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestParseFlashArgs(t *testing.T) {
	in := "--flash_mode dio --flash_freq 80m --flash_size 2MB\n0x0 bootloader/bootloader.bin\n0x8000 partition_table/partition-table.bin\n--encrypt 0x10000 blink.bin\n0xd000 ota_data_initial.bin\n"
	fs, err := ParseFlashArgs([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []FlashFile{{0, "bootloader/bootloader.bin", false}, {0x8000, "partition_table/partition-table.bin", false}, {0x10000, "blink.bin", true}, {0xd000, "ota_data_initial.bin", false}}
	if len(fs) != len(want) {
		t.Fatalf("%+v", fs)
	}
	for i := range want {
		if fs[i] != want[i] {
			t.Errorf("file %d = %+v, want %+v", i, fs[i], want[i])
		}
	}
	all, _ := ParseFlashArgs([]byte("--encrypt\n0x0 a.bin 0x8000 b.bin\n"))
	if len(all) != 2 || !all[0].Encrypt || !all[1].Encrypt {
		t.Errorf("--encrypt alone: %+v", all)
	}
	for _, bad := range []string{"", "--flash_mode dio\n", "0x0\n", "0x0 ../x.bin\n", "zz a.bin\n"} {
		if _, err := ParseFlashArgs([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseFlashArgs(f *testing.F) {
	f.Add([]byte("--flash_mode dio\n0x0 a.bin\n--encrypt 0x10000 b.bin\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseFlashArgs(b) })
}

func FuzzParseWebToolsManifest(f *testing.F) {
	f.Add([]byte(`{"builds":[{"chipFamily":"ESP32-C3","parts":[{"path":"a.bin","offset":0}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseWebToolsManifest(b, ESP32C3) })
}
