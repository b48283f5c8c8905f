package browser

import (
	"reflect"
	"testing"
)

func TestDict(t *testing.T) {
	got := Dict("vendorId", 0x2fe3, "productId", 0, "serialNumber", "", "classCode", 0xfe, "name", "x")
	want := map[string]any{"vendorId": 0x2fe3, "classCode": 0xfe, "name": "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Dict = %v, want %v", got, want)
	}
	if got := Dict(); len(got) != 0 {
		t.Errorf("Dict() = %v, want empty", got)
	}
}
