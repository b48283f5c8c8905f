package espimg

import (
	"crypto"
	"os"
	"path/filepath"
	"testing"
)

// testImage builds a small ESP32-C3 app image.
func testImage(t testing.TB, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	img, err := Build(BuildOptions{Chip: ESP32C3, MinRev: 3, Entry: 0x40380000, SPIMode: ModeDIO, FlashSize: 2},
		Segment{Addr: 0x3C000020, Data: data[:size/2]},
		Segment{Addr: 0x40380000, Data: data[size/2:]})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testKey reads a fixed key from testdata.
func testKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}
