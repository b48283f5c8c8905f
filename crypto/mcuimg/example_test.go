package mcuimg_test

import (
	"crypto/rand"
	"fmt"
	"os"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
)

func ExampleSign() {
	pemBytes, _ := os.ReadFile("testdata/ed25519.pem") // from imgtool keygen -t ed25519
	key, err := keys.ParsePrivateKey(pemBytes)
	if err != nil {
		fmt.Println(err)
		return
	}
	payload, _ := os.ReadFile("testdata/app.bin")
	signed, err := mcuimg.Sign(payload, &mcuimg.SignOptions{
		Key:        key,
		Version:    mcuimg.Version{Major: 1, Minor: 2, Revision: 3, Build: 4},
		HeaderSize: 0x200,
		PadHeader:  true,
		Align:      8,
		SlotSize:   0x40000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	imgtool, _ := os.ReadFile("testdata/app-ed25519.signed.bin")
	fmt.Println("same as imgtool:", string(signed) == string(imgtool))
	// Output: same as imgtool: true
}

func ExampleParse() {
	data, _ := os.ReadFile("testdata/app-ecdsa-p256-confirm.padded.bin")
	img, err := mcuimg.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, hash, _ := img.Hash()
	fmt.Println("version:", img.Version())
	fmt.Printf("hash: %x\n", hash[:8])
	fmt.Println("permanent swap:", img.Trailer != nil && img.Trailer.ImageOKSet())
	// Output:
	// version: 1.2.3+4
	// hash: 76a356a87ca01a01
	// permanent swap: true
}

func ExampleImage_Verify() {
	data, _ := os.ReadFile("testdata/app-ecdsa-p256.signed.bin")
	pubPEM, _ := os.ReadFile("testdata/ecdsa-p256-pub.pem") // the key the bootloader trusts
	pub, _ := keys.ParsePublicKey(pubPEM)
	img, err := mcuimg.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := img.Verify(mcuimg.VerifyOptions{Keys: []*keys.PublicKey{pub}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified", v.Signature.Name(), "signature of", img.Version())
	// Output: verified ECDSASIG signature of 1.2.3+4
}

func ExampleImage_Decrypt() {
	// A device's encryption key; the build server only knows its public half.
	device, _ := keys.Generate(rand.Reader, keys.X25519)
	signer, _ := keys.Generate(rand.Reader, keys.Ed25519)
	signed, _ := mcuimg.Sign([]byte("secret firmware"), &mcuimg.SignOptions{Key: signer, PadHeader: true, EncryptTo: device.Public()})

	img, _ := mcuimg.Parse(signed)
	// Decrypt, then check the plaintext hash and signature in one step.
	if _, err := img.Verify(mcuimg.VerifyOptions{Keys: []*keys.PublicKey{signer.Public()}, DecryptionKey: device}); err != nil {
		fmt.Println(err)
		return
	}
	payload, _ := img.DecryptPayload(device)
	fmt.Printf("%q\n", payload[:15])
	// Output: "secret firmware"
}
