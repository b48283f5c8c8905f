package keys_test

import (
	"crypto/rand"
	"fmt"
	"os"

	"trustforge/crypto/keys"
)

func ExampleGenerate() {
	k, err := keys.Generate(rand.Reader, keys.X25519)
	if err != nil {
		fmt.Println(err)
		return
	}
	pemBytes, _ := k.MarshalPEM() // what imgtool keygen -t x25519 writes
	back, _ := keys.ParsePrivateKey(pemBytes)
	fmt.Println(back.Algorithm(), back.Equal(k), len(k.Public().SPKI()))
	// Output: x25519 true 44
}

func ExampleParsePublicKey() {
	pemBytes, _ := os.ReadFile("testdata/ecdsa-p256-pub.pem")
	k, err := keys.ParsePublicKey(pemBytes)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k)
	// Output: ecdsa-p256 public key 99df6f3dedb98112
}
