package provision

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/internal/usererr"
)

// Step names one step of the provisioning flow.
type Step string

// The steps, in order.
const (
	StepInfo     Step = "info"
	StepRegistry Step = "registry"
	StepKey      Step = "key"
	StepCSR      Step = "csr"
	StepCheck    Step = "check"
	StepIssue    Step = "issue"
	StepChain    Step = "chain"
	StepVerify   Step = "verify"
	StepBootKey  Step = "bootkey"
	StepEncKey   Step = "enckey"
	StepRegister Step = "register"
	StepLock     Step = "lock"
)

// Steps lists the steps in order.
func Steps() []Step {
	return []Step{StepInfo, StepRegistry, StepKey, StepCSR, StepCheck, StepIssue, StepChain, StepVerify,
		StepBootKey, StepEncKey, StepRegister, StepLock}
}

// Title names a step for people.
func (s Step) Title() string {
	switch s {
	case StepInfo:
		return "Read board info"
	case StepRegistry:
		return "Check the device registry"
	case StepKey:
		return "Generate the identity key on the board"
	case StepCSR:
		return "Get a certificate request"
	case StepCheck:
		return "Check the request"
	case StepIssue:
		return "Issue the certificate"
	case StepChain:
		return "Install the certificate chain"
	case StepVerify:
		return "Read back and verify the chain"
	case StepBootKey:
		return "Fuse the boot key hash"
	case StepEncKey:
		return "Fetch the image encryption key"
	case StepRegister:
		return "Register the device"
	case StepLock:
		return "Lock the board"
	}
	return string(s)
}

// Where a step spends its time.
type where int

const (
	onBoard where = iota
	onConsole
	onServer
)

func (s Step) where() where {
	switch s {
	case StepCheck, StepIssue:
		return onConsole
	case StepRegistry, StepRegister:
		return onServer
	}
	return onBoard
}

// Status is where a step stands.
type Status string

// Step statuses.
const (
	Running Status = "running"
	Done    Status = "done"
	Skipped Status = "skipped"
	Failed  Status = "failed"
)

// StepResult is a step's outcome.
type StepResult struct {
	Step   Step
	Status Status
	// Detail says what the step found or did, or why it failed.
	Detail string
	// Err is the failure, for Failed.
	Err error
	// Took is the step's duration.
	Took time.Duration
}

// Plan is what Provision needs besides the board.
type Plan struct {
	// CA issues the certificates: a *pki.Authority whose vault is
	// unlocked, or another Authority such as a station's batch CA.
	CA Authority
	// Profile is the product's provisioning profile.
	Profile pki.Profile
	// Registry records the board and detects clones. Nil provisions
	// without a registry (a lab bench): clones then go undetected.
	Registry Registry
	// OnStep, if not nil, is called as each step starts and ends.
	OnStep func(StepResult)
	// Now is the clock of step timings; nil means time.Now.
	Now func() time.Time
}

// Result is what Provision did.
type Result struct {
	// Info is the board's report, as read at the start.
	Info Info
	// Chain is the chain the board holds, verified.
	Chain pki.Chain
	// IdentityKey is the board's identity public key.
	IdentityKey *keys.PublicKey
	// EncryptionKey is the board's image encryption key, or nil.
	EncryptionKey *keys.PublicKey
	// Resumed is set when the board had been registered by an unfinished
	// run, which this one completed.
	Resumed bool
	// Steps are the steps' outcomes, in order.
	Steps []StepResult
	// Board, Console and Server split the total time: waiting on the board
	// over the link (and the board's own work), computing in the console
	// (checking the request, issuing, verifying the chain read back), and
	// waiting on the registry.
	Board, Console, Server time.Duration
}

type run struct {
	c     *Client
	p     Plan
	res   *Result
	ctx   context.Context
	local time.Duration // console time within the current board step
}

// compute runs f, console work within a board step, and times it apart.
func (r *run) compute(f func() error) error {
	start := r.now()
	err := f()
	r.local += r.now().Sub(start)
	return err
}

func (r *run) now() time.Time {
	if r.p.Now != nil {
		return r.p.Now()
	}
	return time.Now()
}

// step runs f as step s and records it. f returns a detail line.
func (r *run) step(s Step, f func() (string, error)) error {
	if r.p.OnStep != nil {
		r.p.OnStep(StepResult{Step: s, Status: Running})
	}
	r.local = 0
	start := r.now()
	detail, err := f()
	took := r.now().Sub(start)
	sr := StepResult{Step: s, Status: Done, Detail: detail, Took: took}
	if err != nil {
		sr.Status, sr.Err, sr.Detail = Failed, err, err.Error()
	}
	switch s.where() {
	case onBoard:
		r.res.Board += took - r.local
		r.res.Console += r.local
	case onConsole:
		r.res.Console += took
	case onServer:
		r.res.Server += took
	}
	r.record(sr)
	if err != nil {
		return usererr.Errorf("", "%s: %w", s.Title(), err)
	}
	return nil
}

func (r *run) skip(s Step, why string) {
	r.record(StepResult{Step: s, Status: Skipped, Detail: why})
}

func (r *run) record(sr StepResult) {
	r.res.Steps = append(r.res.Steps, sr)
	if r.p.OnStep != nil {
		r.p.OnStep(sr)
	}
}

// Provision runs the guided flow on the board behind c: read its info,
// check the registry, have it generate its identity key and a certificate
// request, check the request against the profile, issue its certificate,
// install the chain and read it back, fuse the boot key hash, fetch the
// encryption key, register it and lock it. Nothing is written to the board
// or the registry before the board's state, the registry and the request
// have been checked. The Result is returned with the steps done so far
// even on failure.
func Provision(ctx context.Context, c *Client, p Plan) (*Result, error) {
	if p.CA == nil {
		return nil, usererr.New("provision", "no certificate authority")
	}
	if err := p.Profile.Validate(); err != nil {
		return nil, err
	}
	r := &run{c: c, p: p, res: &Result{}, ctx: ctx}
	return r.res, r.run()
}

// run walks the steps in order; a board an unfinished run registered
// with this identity resumes after its registration.
func (r *run) run() error {
	if err := r.readInfo(); err != nil {
		return err
	}
	prior, err := r.lookUp()
	if err != nil {
		return err
	}
	if prior != nil {
		return r.finish(prior)
	}
	prov, err := r.certify()
	if err != nil {
		return err
	}
	if err := r.installChain(prov); err != nil {
		return err
	}
	if err := r.bootKeyAndEncKey(nil); err != nil {
		return err
	}
	if err := r.register(); err != nil {
		return err
	}
	return r.lock()
}

// readInfo reads the board's info and refuses a board already locked.
func (r *run) readInfo() error {
	return r.step(StepInfo, func() (string, error) {
		info, err := r.c.Info(r.ctx)
		if err != nil {
			return "", err
		}
		r.res.Info = info
		d := fmt.Sprintf("device %s, %s rev %s: %s", info.ID, info.Model, info.Rev, info.State())
		if info.Locked {
			return d, usererr.Errorf("", "%w: device %s is already provisioned and locked; nothing was written", ErrLocked, info.ID)
		}
		return d, nil
	})
}

// lookUp checks the registry for the board's id: it returns the earlier
// registration when it holds this board's identity (a run to finish), and
// refuses a board registered with another identity (a clone).
func (r *run) lookUp() (*Registered, error) {
	if r.p.Registry == nil {
		r.skip(StepRegistry, "no registry: clones go undetected")
		return nil, nil
	}
	id := r.res.Info.ID
	var prior *Registered
	err := r.step(StepRegistry, func() (string, error) {
		reg, err := r.p.Registry.Lookup(r.ctx, id)
		if err != nil {
			return "", err
		}
		if reg == nil {
			return "device id " + id + " is not registered yet", nil
		}
		if same, err := r.sameIdentity(reg); err != nil {
			return "", err
		} else if !same {
			return "", usererr.Errorf("", "%w: device %s was provisioned on %s by %s with another identity: this board is a clone or a replacement; nothing was written",
				ErrClone, id, reg.Provisioned.UTC().Format(time.RFC3339), reg.Operator)
		}
		prior = reg
		return "registered by an unfinished run with this board's identity: finishing it", nil
	})
	return prior, err
}

// certify has the board make its identity key and a certificate request,
// checks the request against the profile and issues the certificate.
func (r *run) certify() (*pki.Provisioned, error) {
	ctx, c, p, res := r.ctx, r.c, r.p, r.res
	id := res.Info.ID
	pol, err := p.CA.Policy(ctx, p.Profile, id, nil)
	if err != nil {
		return nil, err
	}
	subj, err := pol.Template.Render(pol.Base, pol.Product, id)
	if err != nil {
		return nil, err
	}
	if err := r.step(StepKey, func() (string, error) {
		k, err := c.GenerateIdentityKey(ctx)
		if err != nil {
			return "", err
		}
		res.IdentityKey = k
		return "P-256 key " + k.Fingerprint() + " (the private half stays on the board)", nil
	}); err != nil {
		return nil, err
	}
	var csrDER []byte
	if err := r.step(StepCSR, func() (string, error) {
		var err error
		csrDER, err = c.CSR(ctx, subj.Name, subj.URI)
		return fmt.Sprintf("%d-byte PKCS#10 request for %s", len(csrDER), subj.Name), err
	}); err != nil {
		return nil, err
	}
	var csr *pki.CSR
	if err := r.step(StepCheck, func() (string, error) {
		pol.Key = res.IdentityKey
		var err error
		csr, err = pol.Check(csrDER)
		return "signature, P-256 key, subject and device id match the profile", err
	}); err != nil {
		return nil, err
	}
	var prov *pki.Provisioned
	err = r.step(StepIssue, func() (string, error) {
		var err error
		prov, err = p.CA.Issue(ctx, p.Profile, id, csr)
		if err != nil {
			return "", err
		}
		return "serial " + prov.Record.Serial + " by " + prov.Chain[1].Subject.CommonName, nil
	})
	return prov, err
}

// installChain installs the issued chain, reads it back and verifies what
// the board holds.
func (r *run) installChain(prov *pki.Provisioned) error {
	ctx, c, p, res := r.ctx, r.c, r.p, r.res
	if err := r.step(StepChain, func() (string, error) {
		der := prov.Chain.DER()
		return fmt.Sprintf("%d certificates, %d bytes", len(prov.Chain), len(der)), c.InstallChain(ctx, der)
	}); err != nil {
		return err
	}
	return r.step(StepVerify, func() (string, error) {
		back, err := c.Chain(ctx)
		if err != nil {
			return "", err
		}
		if !bytes.Equal(back, prov.Chain.DER()) {
			return "", usererr.Errorf("", "%w: the board holds another chain than the one installed", ErrBadAnswer)
		}
		var chain pki.Chain
		if err := r.compute(func() error {
			var err error
			if chain, err = pki.ParseChain(back); err != nil {
				return err
			}
			return p.CA.Verify(ctx, chain, p.Profile, res.Info.ID, res.IdentityKey)
		}); err != nil {
			return "", err
		}
		res.Chain = chain
		return "the chain verifies up to " + chain[len(chain)-1].Subject.CommonName, nil
	})
}

// register records the board, its chain and public keys in the registry.
func (r *run) register() error {
	p, res := r.p, r.res
	if p.Registry == nil {
		r.skip(StepRegister, "no registry")
		return nil
	}
	return r.step(StepRegister, func() (string, error) {
		rec := Record{DeviceID: res.Info.ID, Product: p.Profile.Product, Model: res.Info.Model, Rev: res.Info.Rev,
			Chain: res.Chain.DER(), BootKeyHash: p.Profile.BootKeyHash}
		if res.EncryptionKey != nil {
			rec.EncryptionKey = res.EncryptionKey.SPKI()
		}
		return "recorded with its certificate and public keys", p.Registry.Register(r.ctx, rec)
	})
}

func (r *run) sameIdentity(reg *Registered) (bool, error) {
	if !r.res.Info.IDKey || !r.res.Info.Chain {
		return false, nil
	}
	k, err := r.c.IdentityKey(r.ctx)
	if err != nil {
		return false, err
	}
	chain, err := r.c.Chain(r.ctx)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(chain, reg.Chain) {
		return false, nil
	}
	parsed, err := pki.ParseChain(chain)
	if err != nil {
		return false, nil
	}
	if err := r.p.CA.Verify(r.ctx, parsed, r.p.Profile, r.res.Info.ID, k); err != nil {
		return false, nil
	}
	r.res.IdentityKey, r.res.Chain = k, parsed
	return true, nil
}

// finish completes a run whose board is already registered.
func (r *run) finish(reg *Registered) error {
	r.res.Resumed = true
	for _, s := range []Step{StepKey, StepCSR, StepCheck, StepIssue, StepChain, StepVerify} {
		r.skip(s, "done by the earlier run")
	}
	if err := r.bootKeyAndEncKey(reg); err != nil {
		return err
	}
	r.skip(StepRegister, "already registered")
	return r.lock()
}

func (r *run) bootKeyAndEncKey(reg *Registered) error {
	ctx, c, p, res := r.ctx, r.c, r.p, r.res
	hash, err := p.Profile.BootKey()
	if err != nil {
		return err
	}
	if hash == nil {
		r.skip(StepBootKey, "the profile sets no boot key")
	} else if err := r.step(StepBootKey, func() (string, error) {
		return fmt.Sprintf("the bootloader now trusts only key %x…", hash[:8]), c.FuseBootKey(ctx, hash)
	}); err != nil {
		return err
	}
	if !p.Profile.EncryptImages {
		r.skip(StepEncKey, "the profile does not encrypt images to each board")
		return nil
	}
	return r.step(StepEncKey, func() (string, error) {
		k, err := c.EncryptionKey(ctx)
		if err != nil {
			return "", err
		}
		if reg != nil && !bytes.Equal(k.SPKI(), reg.EncryptionKey) {
			return "", usererr.Errorf("", "%w: the board's encryption key differs from the registered one", ErrClone)
		}
		res.EncryptionKey = k
		return "X25519 key " + k.Fingerprint(), nil
	})
}

func (r *run) lock() error {
	if r.p.Profile.LeaveUnlocked {
		r.skip(StepLock, "the profile leaves boards unlocked (development)")
		return nil
	}
	return r.step(StepLock, func() (string, error) {
		return "provisioning writes are refused from now on", r.c.Lock(r.ctx, r.res.Info.ID)
	})
}
