package provision_test

import (
	"context"
	"fmt"
	"net"

	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
	"trustforge/devices/provision"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

// Example provisions a simulated board: identity key, certificate chain,
// encryption key, lock.
func Example() {
	ctx := context.Background()
	st := &memStore{m: map[string][]byte{}}
	v, _ := vault.Create(ctx, st, "console passphrase", vault.Options{WorkFactor: 10})
	ca := pki.New(st, v, pki.Options{})
	ca.InitRoot(ctx, pki.RootOptions{Organization: "Acme Devices"})
	ca.AddIntermediate(ctx, pki.IntermediateOptions{Product: "thermo"})
	profile, _ := ca.SaveProfile(ctx, pki.Profile{Product: "thermo", EncryptImages: true})

	board, _ := sim.New(sim.Config{Provisioning: sim.ProvisionConfig{UID: []byte{0xca, 0xfe, 0xf0, 0x0d}}})
	defer board.Close()
	host, dev := net.Pipe()
	go board.Serve(ctx, dev)
	c := smp.NewClient(smp.FromStream(host), nil)
	defer c.Close()

	res, err := provision.Provision(ctx, provision.NewClient(c), provision.Plan{CA: ca, Profile: profile,
		OnStep: func(s provision.StepResult) {
			if s.Status != provision.Running {
				fmt.Printf("%-40s %s\n", s.Step.Title(), s.Status)
			}
		}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Chain[0].Subject.CommonName)
	// Output:
	// Read board info                          done
	// Check the device registry                skipped
	// Generate the identity key on the board   done
	// Get a certificate request                done
	// Check the request                        done
	// Issue the certificate                    done
	// Install the certificate chain            done
	// Read back and verify the chain           done
	// Fuse the boot key hash                   skipped
	// Fetch the image encryption key           done
	// Register the device                      skipped
	// Lock the board                           done
	// thermo-cafef00d
}
