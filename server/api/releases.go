package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"trustforge/crypto/bundle"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

func releaseOut(r store.Release) apiwire.Release {
	out := apiwire.Release{ID: r.ID, Product: r.Product, Component: r.Image, Version: r.Version,
		SecurityCounter: r.SecurityCounter, Channel: r.Channel, Offers: []apiwire.Offer{}, Signer: r.Signer,
		PayloadSHA256: hex.EncodeToString(r.PayloadDigest[:]), PayloadSize: r.PayloadSize,
		BundleSize: int64(len(r.Prefix)) + r.PayloadSize, Uploaded: r.Uploaded, UploadedBy: r.UploadedBy,
		Manifest: json.RawMessage(r.ManifestJSON)}
	for _, o := range r.Offers {
		out.Offers = append(out.Offers, apiwire.Offer(o))
	}
	if r.IsYanked() {
		out.Yanked = &apiwire.Yank{At: r.Yanked, By: r.YankedBy, Reason: r.YankReason}
	}
	return out
}

// checkOrder refuses a release that would not move a channel forward: its
// version must be above the highest the channel has held (yanked releases
// included, so a version is never reused), and its security counter must
// not be below that release's (MCUboot refuses to boot a lower one).
func checkOrder(head store.Head, channel, version string, counter uint64) error {
	if head.Release == "" {
		return nil
	}
	v, err := bundle.ParseVersion(version)
	if err != nil {
		return err
	}
	hv, err := bundle.ParseVersion(head.Version)
	if err != nil {
		return fmt.Errorf("api: stored head version: %w", err)
	}
	if bundle.Compare(v, hv) <= 0 {
		return errorf(http.StatusConflict, apiwire.CodeVersionNotNewer,
			"version %s is not above %s, the highest version channel %q has held", version, head.Version, channel)
	}
	// The counter must rise with every release, as imgtool's "-s auto"
	// makes it; images that carry no counter (0) on a channel that never
	// had one are ordered by version alone.
	if counter <= head.SecurityCounter && (counter != 0 || head.SecurityCounter != 0) {
		return errorf(http.StatusConflict, apiwire.CodeCounterRollback,
			"security counter %d is not above %d, the counter of %s on channel %q", counter, head.SecurityCounter, head.Version, channel)
	}
	return nil
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload)
	signed, err := bundle.ReadHeader(body)
	if err != nil {
		return err
	}
	// The manifest names its product, whose keys decide whether to trust it.
	claimed, err := signed.VerifyIntegrity()
	if err != nil {
		return err
	}
	prod, err := s.store.Product(ctx, claimed.Product)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnknownProduct, "product %q is not registered", claimed.Product)
	}
	if err != nil {
		return err
	}
	trusted, err := s.trustedKeys(r, prod.Name)
	if err != nil {
		return err
	}
	m, err := signed.Verify(trusted...)
	if err != nil {
		return err
	}
	if !contains(prod.Channels, m.Channel) {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnknownChannel, "product %q has no channel %q", prod.Name, m.Channel)
	}
	id := signed.ManifestDigest().String()
	if _, err := s.store.Release(ctx, id); err == nil {
		return errorf(http.StatusConflict, apiwire.CodeExists, "release %s is already published", id)
	}
	img := m.Component
	same, err := s.store.ListReleases(ctx, store.Filter{Product: prod.Name, Version: m.Version.String(), Image: &img, WithYank: true, Limit: 1})
	if err != nil {
		return err
	}
	if len(same) > 0 {
		return errorf(http.StatusConflict, apiwire.CodeExists, "%s %s (component %d) is already published as release %s", prod.Name, m.Version, img, same[0].ID)
	}
	head, err := s.store.ChannelHead(ctx, prod.Name, img, m.Channel)
	if err != nil {
		return err
	}
	if err := checkOrder(head, m.Channel, m.Version.String(), uint64(m.SecurityCounter)); err != nil {
		return err
	}

	// Every check that needs only the manifest has passed: take the payload.
	bw, err := s.blobs.Create(ctx)
	if err != nil {
		return err
	}
	defer bw.Abort()
	// The store hashes the payload as it writes it (content addressing);
	// that digest is the one checked against the manifest, so a 64 MiB
	// upload is hashed once, not twice (about 80 ms of a core on the
	// project's test machine).
	pr := bundle.NewPayloadSizeReader(body, m)
	if _, err := io.CopyBuffer(bw, pr, make([]byte, uploadBuffer)); err != nil {
		return err
	}
	got, _ := bw.Sum()
	if err := pr.Verifier().CheckDigest(bundle.Digest(got)); err != nil {
		return err
	}
	release, err := s.commitBlob(ctx, bw)
	if err != nil {
		return err
	}
	defer release()

	var prefix bytes.Buffer
	if err := bundle.WriteHeader(&prefix, signed); err != nil {
		return err
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	rel := store.Release{ID: id, Product: prod.Name, Image: img, Version: m.Version.String(),
		SecurityCounter: uint64(m.SecurityCounter), Channel: m.Channel, Signer: signed.KeyID(),
		Manifest: signed.Bytes(), ManifestJSON: mj, Prefix: prefix.Bytes(),
		PayloadDigest: m.Payload.SHA256, PayloadSize: m.Payload.Size, Uploaded: now, UploadedBy: p.user.Name,
		Offers: []store.Offer{{Channel: m.Channel, Added: now, AddedBy: p.user.Name}}}
	ev := s.event(p, "release.publish", id, map[string]string{
		"product": rel.Product, "component": strconv.Itoa(img), "version": rel.Version, "channel": rel.Channel,
		"security_counter": strconv.FormatUint(rel.SecurityCounter, 10), "signer": rel.Signer,
		"payload_sha256": m.Payload.SHA256.String(),
	})
	// Another upload may have moved the channel while this payload streamed:
	// check the order again against the new head, and retry.
	for attempt := 0; ; attempt++ {
		err = s.store.PublishRelease(ctx, rel, head, ev)
		if !errors.Is(err, store.ErrConflict) || attempt == 3 {
			break
		}
		if head, err = s.store.ChannelHead(ctx, prod.Name, img, m.Channel); err != nil {
			break
		}
		if err = checkOrder(head, m.Channel, rel.Version, rel.SecurityCounter); err != nil {
			break
		}
	}
	if err != nil {
		// A payload blob left by a lost race is collected at the next start.
		return err
	}
	writeJSON(w, http.StatusCreated, releaseOut(rel))
	return nil
}

// uploadBuffer is how much of an upload's payload is read and written at
// a time: io.Copy's 32 KiB made two system calls for every 32 KiB of a
// 64 MiB payload.
const uploadBuffer = 256 << 10

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	f := store.Filter{Product: q.Get("product"), Channel: q.Get("channel"), Version: q.Get("version"), WithYank: q.Get("yanked") == "true"}
	if c := q.Get("component"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > bundle.MaxComponent {
			return badField("component", "%q is not an image index", c)
		}
		f.Image = &n
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return badField("limit", "%q is not a positive number", l)
		}
		f.Limit = n
	}
	rs, err := s.store.ListReleases(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]apiwire.Release, 0, len(rs))
	for _, rel := range rs {
		out = append(out, releaseOut(rel))
	}
	writeJSON(w, http.StatusOK, apiwire.ReleaseList{Releases: out})
	return nil
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request, p *principal) error {
	rel, err := s.store.Release(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseOut(rel))
	return nil
}

// latest returns the highest version offered and not yanked on a channel.
func (s *Server) latest(w http.ResponseWriter, r *http.Request, p *principal) error {
	product, channel := r.PathValue("product"), r.PathValue("channel")
	img := 0
	if c := r.URL.Query().Get("component"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > bundle.MaxComponent {
			return badField("component", "%q is not an image index", c)
		}
		img = n
	}
	rs, err := s.store.ListReleases(r.Context(), store.Filter{Product: product, Channel: channel, Image: &img})
	if err != nil {
		return err
	}
	var best *store.Release
	var bestV bundle.Version
	for i := range rs {
		v, err := bundle.ParseVersion(rs[i].Version)
		if err != nil {
			return err
		}
		if best == nil || bundle.Compare(v, bestV) > 0 {
			best, bestV = &rs[i], v
		}
	}
	if best == nil {
		return errorf(http.StatusNotFound, apiwire.CodeNotFound, "no release of %s component %d on channel %q", product, img, channel)
	}
	writeJSON(w, http.StatusOK, releaseOut(*best))
	return nil
}

func (s *Server) promote(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q promoteRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	ctx := r.Context()
	rel, err := s.store.Release(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if rel.IsYanked() {
		return errorf(http.StatusGone, apiwire.CodeYanked, "release %s was yanked", rel.ID)
	}
	prod, err := s.store.Product(ctx, rel.Product)
	if err != nil {
		return err
	}
	if !contains(prod.Channels, q.Channel) {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnknownChannel, "product %q has no channel %q", prod.Name, q.Channel)
	}
	for _, o := range rel.Offers {
		if o.Channel == q.Channel {
			return errorf(http.StatusConflict, apiwire.CodeExists, "release %s is already on channel %q", rel.ID, q.Channel)
		}
	}
	head, err := s.store.ChannelHead(ctx, rel.Product, rel.Image, q.Channel)
	if err != nil {
		return err
	}
	if err := checkOrder(head, q.Channel, rel.Version, rel.SecurityCounter); err != nil {
		return err
	}
	o := store.Offer{Channel: q.Channel, Added: s.cfg.Now(), AddedBy: p.user.Name}
	ev := s.event(p, "release.promote", rel.ID, map[string]string{"product": rel.Product, "version": rel.Version, "channel": q.Channel})
	if err := s.store.Promote(ctx, rel.ID, o, head, ev); err != nil {
		return err
	}
	if rel, err = s.store.Release(ctx, rel.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseOut(rel))
	return nil
}

func (s *Server) yank(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q yankRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	ctx := r.Context()
	rel, err := s.store.Release(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if rel.IsYanked() {
		return errorf(http.StatusConflict, apiwire.CodeYanked, "release %s was already yanked", rel.ID)
	}
	ev := s.event(p, "release.yank", rel.ID, map[string]string{"product": rel.Product, "version": rel.Version, "reason": q.Reason})
	if err := s.store.Yank(ctx, rel.ID, s.cfg.Now(), p.user.Name, q.Reason, ev); err != nil {
		return err
	}
	if rel, err = s.store.Release(ctx, rel.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseOut(rel))
	return nil
}
