package cli

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"trustforge/crypto/bundle"
	"trustforge/server/client"
)

func runReleasePush(ctx context.Context, env Env, args []string) error {
	var rf remoteFlags
	fs := newFlagSet(env, "release push", "release push [--server URL] [--token T] BUNDLE.tfb")
	rf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("name one bundle file")
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rel, err := c.Push(ctx, f, st.Size())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "published %s %s (component %d) on %s as %s\n", rel.Product, rel.Version, rel.Component, rel.Channel, rel.ID)
	return nil
}

func runReleaseList(ctx context.Context, env Env, args []string) error {
	var rf remoteFlags
	var f client.Filter
	var component int
	var asJSON bool
	fs := newFlagSet(env, "release list", "release list [--server URL] [--token T] [--product P] [--channel C] [--version V] [--component N] [--yanked] [--json]")
	rf.register(fs)
	fs.StringVar(&f.Product, "product", "", "only this `product`")
	fs.StringVar(&f.Channel, "channel", "", "only releases offered on this `channel`")
	fs.StringVar(&f.Version, "version", "", "only this `version`")
	fs.IntVar(&component, "component", -1, "only this MCUboot image `index`")
	fs.BoolVar(&f.Yanked, "yanked", false, "include yanked releases")
	fs.BoolVar(&asJSON, "json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if component >= 0 {
		f.Component = &component
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	rs, err := c.List(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRODUCT\tCOMPONENT\tVERSION\tCOUNTER\tCHANNELS\tUPLOADED\tID\tSTATE")
	for _, r := range rs {
		var chans []string
		for _, o := range r.Offers {
			chans = append(chans, o.Channel)
		}
		state := "offered"
		if r.Yanked != nil {
			state = "yanked: " + r.Yanked.Reason
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Product, r.Component, r.Version, r.SecurityCounter,
			strings.Join(chans, ","), r.Uploaded.Format("2006-01-02 15:04"), r.ID[:16], state)
	}
	return tw.Flush()
}

func runReleasePull(ctx context.Context, env Env, args []string) error {
	var rf remoteFlags
	var part, out, latest string
	var component int
	var trust stringList
	fs := newFlagSet(env, "release pull", "release pull [--server URL] [--token T] [--part bundle|manifest|payload] [-o FILE] [--trust KEY.pem]... (ID | --latest PRODUCT/CHANNEL [--component N])")
	rf.register(fs)
	fs.StringVar(&part, "part", "bundle", "what to download: bundle (.tfb), manifest or payload (.age)")
	fs.StringVar(&out, "o", "", "output `file` (default: the release ID with .tfb, .manifest or .age)")
	fs.StringVar(&latest, "latest", "", "download the highest release offered on `PRODUCT/CHANNEL`")
	fs.IntVar(&component, "component", 0, "with --latest, the MCUboot image `index`")
	fs.Var(&trust, "trust", "require the manifest to be signed by this public `key` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := client.Part(part)
	ext := map[client.Part]string{client.PartBundle: ".tfb", client.PartManifest: ".manifest", client.PartPayload: ".age"}[p]
	if ext == "" {
		return usageErrorf("--part must be bundle, manifest or payload")
	}
	if (fs.NArg() == 1) == (latest != "") {
		return usageErrorf("name a release ID or give --latest PRODUCT/CHANNEL")
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	trusted, err := readTrustedKeys(trust)
	if err != nil {
		return err
	}
	id := fs.Arg(0)
	if latest != "" {
		product, channel, ok := strings.Cut(latest, "/")
		if !ok {
			return usageErrorf("--latest wants PRODUCT/CHANNEL")
		}
		rel, err := c.Latest(ctx, product, channel, component)
		if err != nil {
			return err
		}
		id = rel.ID
		if out == "" {
			out = rel.Product + "-" + rel.Version + ext
		}
	}
	if out == "" {
		out = id + ext
	}
	if err := pull(ctx, c, id, p, out, trusted); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s\n", out)
	return nil
}

// pull downloads a part to out through out.part, resuming an earlier
// attempt when out.part and its ETag (out.part.etag) are there, checks it,
// and renames it into place.
func pull(ctx context.Context, c *client.Client, id string, p client.Part, out string, trusted []crypto.PublicKey) error {
	partial, tagFile := out+".part", out+".part.etag"
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	offset, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	etag := ""
	if offset > 0 {
		b, err := os.ReadFile(tagFile)
		if err != nil {
			offset = 0 // cannot prove it is the same content: start over
		}
		etag = string(b)
	}
	if offset == 0 {
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	_, err = c.Download(ctx, id, p, f, client.Resume{Offset: offset, ETag: etag, Retries: 5,
		OnETag: func(et string) error { return os.WriteFile(tagFile, []byte(et), 0o644) }})
	if errors.Is(err, client.ErrChanged) {
		os.Remove(partial)
		os.Remove(tagFile)
		return fmt.Errorf("%w (removed the partial %s)", err, partial)
	}
	if err != nil {
		return fmt.Errorf("%w; run the same command again to resume", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := checkDownload(f, p, trusted); err != nil {
		return fmt.Errorf("%s: %w", partial, err)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	os.Remove(tagFile)
	return os.Rename(partial, out)
}

// checkDownload verifies what it can of a downloaded part on its own: a
// bundle's signature and payload, a manifest's signature. With trusted
// keys, the signer must be one of them.
func checkDownload(r io.Reader, p client.Part, trusted []crypto.PublicKey) error {
	var s *bundle.Signed
	var err error
	switch p {
	case client.PartPayload:
		if len(trusted) > 0 {
			return errors.New("--trust needs the manifest: pull the bundle or the manifest")
		}
		return nil
	case client.PartManifest:
		b, err := io.ReadAll(io.LimitReader(r, bundle.MaxSignedSize+1))
		if err != nil {
			return err
		}
		s, err = bundle.ParseSigned(b)
		if err != nil {
			return err
		}
	default:
		if s, err = bundle.ReadHeader(r); err != nil {
			return err
		}
	}
	var m *bundle.Manifest
	if len(trusted) > 0 {
		m, err = s.Verify(trusted...)
	} else {
		m, err = s.VerifyIntegrity()
	}
	if err != nil {
		return err
	}
	if p == client.PartBundle {
		if _, err := io.Copy(io.Discard, bundle.NewPayloadReader(r, m)); err != nil {
			return err
		}
	}
	return nil
}
