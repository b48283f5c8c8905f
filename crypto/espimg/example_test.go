package espimg_test

import (
	"crypto/rand"
	"fmt"
	"os"

	"trustforge/crypto/espimg"
)

func ExampleSign() {
	pemKey, _ := os.ReadFile("testdata/ecdsa256.pem")
	key, err := espimg.ParsePrivateKey(pemKey)
	if err != nil {
		panic(err)
	}
	app, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3},
		espimg.Segment{Addr: 0x42000020, Data: []byte("firmware")})
	signed, err := espimg.Sign(rand.Reader, app, key)
	if err != nil {
		panic(err)
	}
	digest, _ := espimg.KeyDigest(key.Public()) // burn into a key block as SECURE_BOOT_DIGEST0
	blk, err := espimg.Verify(signed, espimg.VerifyOptions{Digests: [][32]byte{digest}})
	fmt.Println(len(signed), blk.Scheme, err)
	// Output: 8192 ecdsa256 <nil>
}

func ExampleEncryptFlash() {
	key := make([]byte, 32) // the XTS_AES_128_KEY eFuse block
	ct, _ := espimg.EncryptFlash(key, 0x10000, make([]byte, 32))
	pt, _ := espimg.DecryptFlash(key, 0x10000, ct)
	fmt.Println(len(ct), pt[0])
	// Output: 32 0
}
