package provision_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

func TestProvisionEndToEnd(t *testing.T) {
	ctx := context.Background()
	bootKey, _ := keys.Generate(nil, keys.Ed25519)
	ca, profile := newCA(t, bootKey.Public())
	uid := []byte{0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0}
	board, c := newSimBoard(t, sim.Config{Provisioning: sim.ProvisionConfig{UID: uid}})
	reg := newRegistry()
	var seen []provision.StepResult
	res, err := provision.Provision(ctx, provision.NewClient(c), provision.Plan{CA: ca, Profile: profile, Registry: reg,
		OnStep: func(s provision.StepResult) { seen = append(seen, s) }})
	if err != nil {
		t.Fatalf("Provision: %v\nsteps: %+v", err, res.Steps)
	}
	if len(res.Steps) != len(provision.Steps()) {
		t.Fatalf("%d step results, want %d", len(res.Steps), len(provision.Steps()))
	}
	for i, s := range res.Steps {
		if s.Step != provision.Steps()[i] || s.Status != provision.Done {
			t.Errorf("step %d: %s %s (%s)", i, s.Step, s.Status, s.Detail)
		}
	}
	if len(seen) != 2*len(res.Steps) {
		t.Errorf("OnStep called %d times, want a start and an end for each of %d steps", len(seen), len(res.Steps))
	}
	id := "102030405060708090a0b0c0"
	if res.Info.ID != id {
		t.Errorf("device id %q", res.Info.ID)
	}
	p := board.Provisioning()
	if !p.Locked || !bytes.Equal(p.BootKey, provision.BootKeyHashOf(bootKey.Public())) || !p.EncKey.Equal(res.EncryptionKey) ||
		!p.IDKey.Equal(res.IdentityKey) || !bytes.Equal(p.Chain, res.Chain.DER()) {
		t.Errorf("the board holds %+v", p)
	}
	rec := reg.devices[id]
	if rec == nil || !bytes.Equal(rec.Chain, p.Chain) || !bytes.Equal(rec.EncryptionKey, p.EncKey.SPKI()) || rec.BootKeyHash != profile.BootKeyHash {
		t.Errorf("registry record %+v", rec)
	}
	if res.Board <= 0 || res.Console <= 0 {
		t.Errorf("timings: board %v console %v", res.Board, res.Console)
	}

	// The chain the board holds verifies with OpenSSL.
	chain, err := pki.ParseChain(p.Chain)
	if err != nil {
		t.Fatal(err)
	}
	opensslVerify(t, chain)

	// A second provisioning of the locked board is refused before any write.
	res, err = provision.Provision(ctx, provision.NewClient(c), provision.Plan{CA: ca, Profile: profile, Registry: reg})
	if !errors.Is(err, provision.ErrLocked) || len(res.Steps) != 1 {
		t.Errorf("second provisioning: %v after %d steps, want ErrLocked after 1", err, len(res.Steps))
	}
	if after := board.Provisioning(); !after.IDKey.Equal(p.IDKey) || !bytes.Equal(after.Chain, p.Chain) {
		t.Error("the refused run changed the board")
	}
	// And the board itself refuses writes, with a clear reason.
	_, err = provision.NewClient(c).GenerateIdentityKey(ctx)
	if !errors.Is(err, provision.ErrLocked) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("generating a key on a locked board: %v", err)
	}
}

func opensslVerify(t *testing.T, chain pki.Chain) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (apt-get install -y openssl)")
	}
	dir := t.TempDir()
	for name, c := range map[string]int{"device.pem": 0, "intermediate.pem": 1, "root.pem": 2} {
		if err := os.WriteFile(filepath.Join(dir, name), pki.CertPEM(chain[c]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(path, "verify", "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "device.pem")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "device.pem: OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

// TestProvisionRefusals: each refusal stops the flow before anything is
// written to the board or the registry.
func TestProvisionRefusals(t *testing.T) {
	ctx := context.Background()
	ca, profile := newCA(t, nil)
	tests := []struct {
		name string
		// setup prepares the board and registry and returns the Doer to use.
		setup func(t *testing.T, c *smp.Client, reg *memRegistry) provision.Doer
		want  error
		// wroteKey is true when the board's identity key may have been
		// generated before the refusal (the request is refused after it).
		wroteKey bool
	}{
		{"a clone: the device id is registered to another identity", func(t *testing.T, c *smp.Client, reg *memRegistry) provision.Doer {
			reg.devices["0102030405060708"] = &provision.Registered{Record: provision.Record{DeviceID: "0102030405060708", Chain: []byte{1}}, Operator: "line2"}
			return c
		}, provision.ErrClone, false},
		{"a request for another device id", func(t *testing.T, c *smp.Client, reg *memRegistry) provision.Doer {
			return &tamper{d: c, before: func(r *smp.Request) {
				if r.ID == provision.CmdCSR {
					req := r.Body.(provision.CSRRequest)
					req.Subject[len(req.Subject)-1][1] = "thermo-ffffffffffffffff"
					req.URI = ""
					r.Body = req
				}
			}}
		}, pki.ErrWrongDevice, true},
		{"a request whose signature does not verify", func(t *testing.T, c *smp.Client, reg *memRegistry) provision.Doer {
			return &tamper{d: c, after: func(r smp.Request, resp any) error {
				if r.ID == provision.CmdCSR {
					csr := resp.(*provision.CSRResponse)
					csr.CSR[len(csr.CSR)-4] ^= 0x10
				}
				return nil
			}}
		}, pki.ErrBadSignature, true},
		{"a request carrying another key than the board generated", func(t *testing.T, c *smp.Client, reg *memRegistry) provision.Doer {
			other, _ := keys.Generate(nil, keys.ECDSAP256)
			return &tamper{d: c, after: func(r smp.Request, resp any) error {
				if r.ID == provision.CmdIDKey {
					resp.(*provision.KeyResponse).Key = other.Public().SPKI()
				}
				return nil
			}}
		}, pki.ErrKeyMismatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			board, c := newSimBoard(t, sim.Config{Provisioning: sim.ProvisionConfig{UID: []byte{1, 2, 3, 4, 5, 6, 7, 8}}})
			reg := newRegistry()
			d := tt.setup(t, c, reg)
			before := len(reg.devices)
			res, err := provision.Provision(ctx, provision.NewClient(d), provision.Plan{CA: ca, Profile: profile, Registry: reg})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Provision: %v, want %v", err, tt.want)
			}
			last := res.Steps[len(res.Steps)-1]
			if last.Status != provision.Failed || last.Detail == "" {
				t.Errorf("last step %+v", last)
			}
			p := board.Provisioning()
			if p.Chain != nil || p.BootKey != nil || p.EncKey != nil || p.Locked || (!tt.wroteKey && p.IDKey != nil) {
				t.Errorf("the board was written: %+v", p)
			}
			if len(reg.devices) != before {
				t.Errorf("the registry was written")
			}
		})
	}
}

// TestProvisionResumes: a run that registered the board but could not
// lock it is finished by the next run, which is not taken for a clone.
func TestProvisionResumes(t *testing.T) {
	ctx := context.Background()
	ca, profile := newCA(t, nil)
	board, c := newSimBoard(t, sim.Config{})
	reg := newRegistry()
	failLock := &tamper{d: c, before: func(r *smp.Request) {
		if r.ID == provision.CmdLock {
			r.Body = provision.LockRequest{ID: []byte{0}}
		}
	}}
	_, err := provision.Provision(ctx, provision.NewClient(failLock), provision.Plan{CA: ca, Profile: profile, Registry: reg})
	if !provision.IsCode(err, provision.ErrCodeWrongDevice) {
		t.Fatalf("first run: %v, want the lock refused", err)
	}
	if board.Provisioning().Locked || len(reg.devices) != 1 {
		t.Fatal("the first run should have registered, not locked, the board")
	}
	res, err := provision.Provision(ctx, provision.NewClient(c), provision.Plan{CA: ca, Profile: profile, Registry: reg})
	if err != nil || !res.Resumed {
		t.Fatalf("second run: %v, resumed %v", err, res.Resumed)
	}
	if !board.Provisioning().Locked {
		t.Error("the board is not locked")
	}
}

var _ provision.Authority = (*pki.Issuer)(nil)

// TestProvisionWithPreparedIssuer provisions boards one after the other
// with one prepared issuer, as a production line does.
func TestProvisionWithPreparedIssuer(t *testing.T) {
	ctx := context.Background()
	ca, profile := newCA(t, nil)
	is, err := ca.Prepare(ctx, profile)
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry()
	for i := range 3 {
		board, c := newSimBoard(t, sim.Config{})
		res, err := provision.Provision(ctx, provision.NewClient(c), provision.Plan{CA: is, Profile: profile, Registry: reg})
		if err != nil {
			t.Fatalf("board %d: %v", i, err)
		}
		if p := board.Provisioning(); !p.Locked || !bytes.Equal(p.Chain, res.Chain.DER()) {
			t.Errorf("board %d holds %+v", i, p)
		}
		if err := ca.Verify(ctx, res.Chain, profile, res.Info.ID, res.IdentityKey); err != nil {
			t.Errorf("board %d: the authority does not verify the prepared issuer's chain: %v", i, err)
		}
	}
	if len(reg.devices) != 3 {
		t.Errorf("%d boards registered, want 3", len(reg.devices))
	}
}
