package espimg

import (
	"errors"
	"testing"
)

func TestPartitionTable(t *testing.T) {
	parts := []Partition{
		{Type: PartTypeData, SubType: 2, Offset: 0x9000, Size: 0x6000, Label: "nvs"},
		{Type: PartTypeApp, SubType: PartSubFactory, Offset: 0x10000, Size: 0x100000, Label: "factory", Flags: PartFlagEncrypted},
	}
	b, err := BuildPartitionTable(parts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePartitionTable(b)
	if err != nil || len(got) != 2 || got[1] != parts[1] || !got[1].Encrypted() || !got[1].IsApp() {
		t.Fatalf("%+v, %v", got, err)
	}
	b[40] ^= 1
	if _, err := ParsePartitionTable(b); !errors.Is(err, ErrChecksum) {
		t.Errorf("changed entry: %v", err)
	}
	if _, err := ParsePartitionTable(make([]byte, 0xC00)); !errors.Is(err, ErrNotImage) {
		t.Errorf("zeros: %v", err)
	}
}

func TestAppDescription(t *testing.T) {
	d := AppDesc{Version: "1.2.3", ProjectName: "blink", IDFVersion: "v5.3"}
	img, _ := Build(BuildOptions{Chip: ESP32C3}, Segment{Addr: 0x3C000020, Data: MarshalAppDesc(d)})
	p, err := Parse(img)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.AppDescription()
	if !ok || got.Version != "1.2.3" || got.ProjectName != "blink" || got.IDFVersion != "v5.3" {
		t.Errorf("%+v %v", got, ok)
	}
}

func FuzzParsePartitionTable(f *testing.F) {
	b, _ := BuildPartitionTable([]Partition{{Type: 0, Offset: 0x10000, Size: 0x1000, Label: "factory"}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParsePartitionTable(b) })
}
