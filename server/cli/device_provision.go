package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/devices/smp"
)

// runDeviceProvision implements `trustforge device provision`: the
// console's guided provisioning flow, for production lines and scripts.
func runDeviceProvision(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "device provision", "device provision --port PATH --ca DIR --product NAME (--server URL --token T | --no-registry) [flags]")
	port := fs.String("port", "", "the board's serial port, pseudo-terminal or ws:// URL (required)")
	baud := fs.Int("baud", 115200, "serial speed in bits per second")
	timeout := fs.Duration("timeout", smp.DefaultTimeout, "wait this long for each answer (key generation: at least 10s)")
	v2 := fs.Bool("smp-v2", false, "speak SMP version 2 (group-specific error codes)")
	caDir := fs.String("ca", "", "the CA `directory` (trustforge ca init) that issues the certificate (required)")
	passFile := fs.String("passphrase-file", "", "read the CA passphrase from `FILE` (default $"+caPassphraseEnv+", else the terminal)")
	product := fs.String("product", "", "the product whose profile applies (required)")
	noRegistry := fs.Bool("no-registry", false, "provision without registering the board (a lab bench: clones go undetected)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var rf remoteFlags
	rf.register(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *port == "" || *caDir == "" || *product == "" {
		return usageErrorf("--port, --ca and --product are required")
	}
	cf := caFlags{dir: *caDir, passFile: *passFile}
	a, _, err := cf.open(ctx, true)
	if err != nil {
		return err
	}
	profile, err := profileOf(ctx, a, *product)
	if err != nil {
		return err
	}
	plan := provision.Plan{CA: a, Profile: profile}
	if !*noRegistry {
		c, err := rf.client()
		if err != nil {
			return fmt.Errorf("%w (or pass --no-registry for a bench board)", err)
		}
		plan.Registry = c.Registry()
	}
	tr, err := openTransport(ctx, *port, *baud)
	if err != nil {
		return err
	}
	c := smp.NewClient(tr, &smp.Options{Timeout: *timeout, V2: *v2})
	defer c.Close()
	if !*asJSON {
		plan.OnStep = func(s provision.StepResult) {
			if s.Status == provision.Running {
				return
			}
			fmt.Fprintf(env.Stdout, "%-8s %-40s %s\n", s.Status, s.Step.Title(), s.Detail)
		}
	}
	start := time.Now()
	res, err := provision.Provision(ctx, provision.NewClient(c), plan)
	if *asJSON {
		if jerr := writeProvisionJSON(env, res, err); jerr != nil {
			return jerr
		}
	} else if err == nil {
		fmt.Fprintf(env.Stdout, "\ndevice %s provisioned in %v (board %v, console %v, server %v)\n", res.Info.ID,
			time.Since(start).Round(time.Millisecond), res.Board.Round(time.Millisecond), res.Console.Round(time.Millisecond), res.Server.Round(time.Millisecond))
	}
	switch {
	case errors.Is(err, provision.ErrLocked), errors.Is(err, provision.ErrClone), errors.Is(err, pki.ErrWrongDevice),
		errors.Is(err, pki.ErrBadSignature), errors.Is(err, pki.ErrKeyMismatch), errors.Is(err, pki.ErrSubject):
		return fmt.Errorf("refused: %w", err)
	}
	return err
}

type provisionJSON struct {
	Device    string     `json:"device"`
	Model     string     `json:"model,omitempty"`
	Rev       string     `json:"rev,omitempty"`
	OK        bool       `json:"ok"`
	Error     string     `json:"error,omitempty"`
	Resumed   bool       `json:"resumed,omitempty"`
	Chain     string     `json:"chain,omitempty"`
	EncKey    string     `json:"encryption_key,omitempty"`
	Steps     []stepJSON `json:"steps"`
	BoardMS   float64    `json:"board_ms"`
	ConsoleMS float64    `json:"console_ms"`
	ServerMS  float64    `json:"server_ms"`
}

type stepJSON struct {
	Step   string  `json:"step"`
	Status string  `json:"status"`
	Detail string  `json:"detail,omitempty"`
	MS     float64 `json:"ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func writeProvisionJSON(env Env, res *provision.Result, err error) error {
	out := provisionJSON{OK: err == nil, Steps: []stepJSON{}}
	if err != nil {
		out.Error = err.Error()
	}
	if res != nil {
		out.Device, out.Model, out.Rev, out.Resumed = res.Info.ID, res.Info.Model, res.Info.Rev, res.Resumed
		out.BoardMS, out.ConsoleMS, out.ServerMS = ms(res.Board), ms(res.Console), ms(res.Server)
		if len(res.Chain) > 0 {
			out.Chain = string(res.Chain.PEM())
		}
		if res.EncryptionKey != nil {
			out.EncKey = string(res.EncryptionKey.MarshalPEM())
		}
		for _, s := range res.Steps {
			out.Steps = append(out.Steps, stepJSON{Step: string(s.Step), Status: string(s.Status), Detail: s.Detail, MS: ms(s.Took)})
		}
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
