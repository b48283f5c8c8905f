package audit_test

import (
	"bytes"
	"fmt"
	"time"

	"trustforge/crypto/audit"
)

func Example() {
	var log bytes.Buffer
	w := audit.NewWriter(&log)
	var head audit.Head
	for _, action := range []string{"user.enrol", "product.create", "release.publish"} {
		e, err := audit.Next(head, audit.Event{Time: time.Unix(1700000000, 0), Actor: "admin", Action: action})
		if err != nil {
			panic(err)
		}
		w.Write(e)
		head = e.Head()
	}

	got, err := audit.Verify(&log)
	fmt.Println(got.Seq, got == head, err)
	// Output: 3 true <nil>
}
