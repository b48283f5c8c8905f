package mcuimg

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestInfoMatchesDumpinfo compares every field imgtool dumpinfo printed for
// each vector with the same field of Info, marshalled to JSON.
func TestInfoMatchesDumpinfo(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "dumpinfo", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dumpinfo vectors: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json") + ".bin"
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var want map[string]any
			if err := json.Unmarshal(readTestdata(t, filepath.Join("dumpinfo", filepath.Base(f))), &want); err != nil {
				t.Fatal(err)
			}
			img, err := Parse(readTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(img.Info(name))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			n := compareFields(t, "", want, got)
			if n < 20 {
				t.Errorf("compared only %d fields", n)
			}
		})
	}
}

// compareFields reports every field of want that got lacks or holds
// differently, and returns the number of leaf fields compared.
func compareFields(t *testing.T, path string, want, got any) int {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", path, got)
			return 0
		}
		n := 0
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing", path, k)
				continue
			}
			n += compareFields(t, path+"."+k, wv, gv)
		}
		return n
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %d elements", path, got, len(w))
			return 0
		}
		n := 0
		for i := range w {
			n += compareFields(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
		return n
	default:
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
		return 1
	}
}
