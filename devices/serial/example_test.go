package serial_test

import (
	"fmt"
	"os"
	"strings"

	"trustforge/devices/serial"
)

func ExampleEncode() {
	// An SMP echo request for "hello" (version 1, sequence 0).
	pkt := []byte{0x02, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00,
		0xa1, 0x61, 0x64, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f}
	frame, _ := serial.Encode(pkt)
	fmt.Printf("%q\n", frame)
	// Output: "\x06\tABMCAAAJAAAAAKFhZGVoZWxsbyVv\n"
}

func ExampleReader() {
	stream := "*** Booting Zephyr OS ***\n\x06\tABMCAAAJAAAAAKFhZGVoZWxsbyVv\n"
	r := serial.NewReader(strings.NewReader(stream))
	r.Console = os.Stdout
	pkt, err := r.ReadPacket()
	fmt.Printf("% x %v\n", pkt, err)
	// Output:
	// *** Booting Zephyr OS ***
	// 02 00 00 09 00 00 00 00 a1 61 64 65 68 65 6c 6c 6f <nil>
}
