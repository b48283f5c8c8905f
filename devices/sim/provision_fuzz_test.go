package sim

import (
	"testing"

	"github.com/fxamacker/cbor/v2"

	"trustforge/devices/provision"
	"trustforge/devices/smp"
)

// FuzzProvisioningRequests feeds arbitrary bodies to every provisioning
// command of a board that has an identity key: the board must answer a
// well-formed packet and never panic.
func FuzzProvisioningRequests(f *testing.F) {
	for _, v := range []any{
		provision.CSRRequest{Subject: [][2]string{{"CN", "x"}}, URI: "urn:dev:x"},
		provision.ChainChunk{Off: 0, Len: new(uint64(3)), Data: []byte{0x30, 1, 0}},
		provision.ChainReadRequest{Off: 9},
		provision.BootKeyMessage{Hash: make([]byte, 32)},
		provision.LockRequest{ID: []byte{1}},
		provision.KeyRequest{Alg: "p256"},
	} {
		b, _ := cbor.Marshal(v)
		for _, id := range []uint8{provision.CmdCSR, provision.CmdChain, provision.CmdBootKey, provision.CmdLock} {
			f.Add(id, true, b)
		}
	}
	b := newBoard(f, Config{Provisioning: ProvisionConfig{UID: []byte{1, 2, 3}}})
	b.mu.Lock()
	if _, _, err := b.provIDKeyWrite(request{body: []byte{0xa0}}); err != nil {
		f.Fatal(err)
	}
	b.mu.Unlock()
	f.Fuzz(func(t *testing.T, id uint8, write bool, body []byte) {
		if id == provision.CmdIDKey && write || id == provision.CmdLock {
			return // replacing the key or locking would end the exploration
		}
		op := smp.OpRead
		if write {
			op = smp.OpWrite
		}
		pkt, err := smp.EncodePacket(smp.Header{Op: op, Group: provision.Group, ID: id % 8}, body)
		if err != nil {
			return
		}
		b.mu.Lock()
		ans, _ := b.handleLocked(pkt)
		b.mu.Unlock()
		if ans == nil {
			t.Fatal("no answer")
		}
		if _, _, err := smp.DecodePacket(ans); err != nil {
			t.Fatalf("the board answered a bad packet: %v", err)
		}
	})
}
