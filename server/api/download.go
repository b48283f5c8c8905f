package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"trustforge/internal/apiwire"
	"trustforge/server/blob"
	"trustforge/server/store"
)

// downloadable returns a release that may still be downloaded.
func (s *Server) downloadable(ctx context.Context, id string) (store.Release, error) {
	rel, err := s.store.Release(ctx, id)
	if err != nil {
		return rel, err
	}
	if rel.IsYanked() {
		return rel, errorf(http.StatusGone, apiwire.CodeYanked, "release %s was yanked: %s", rel.ID, rel.YankReason)
	}
	return rel, nil
}

// fileName is the base name of a release's downloads: NAME.tfb,
// NAME.manifest and NAME.age.
func fileName(r store.Release) string {
	name := r.Product + "-" + r.Version
	if r.Image != 0 {
		name += "-image" + strconv.Itoa(r.Image)
	}
	return name
}

// ManifestType is the media type of a signed manifest download.
const ManifestType = `application/cose; cose-type="cose-sign1"`

func (s *Server) downloadManifest(w http.ResponseWriter, r *http.Request, p *principal) error {
	rel, err := s.downloadable(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return serveContent(w, r, content{
		etag: `"m-` + rel.ID + `"`, name: fileName(rel) + ".manifest", ctype: ManifestType, head: rel.Manifest,
	})
}

func (s *Server) downloadPayload(w http.ResponseWriter, r *http.Request, p *principal) error {
	if ps, ok := s.blobs.(blob.Presigner); ok && s.cfg.BlobsRedirect > 0 && p.token != nil {
		return s.redirectPayload(w, r, ps)
	}
	return s.downloadBlob(w, r, false)
}

// redirectPayload sends an API client to a presigned URL of the payload:
// the bucket serves the bytes, ranges included, while the server checks
// only what it checks for a download through it (the account's permission,
// a release not yanked, the blob there and of its size).
func (s *Server) redirectPayload(w http.ResponseWriter, r *http.Request, ps blob.Presigner) error {
	rel, err := s.downloadable(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	u, err := ps.PresignGet(r.Context(), blob.Digest(rel.PayloadDigest), rel.PayloadSize, s.cfg.BlobsRedirect,
		fileName(rel)+".age", "application/octet-stream")
	if err != nil {
		return err
	}
	// The URL is a credential for its lifetime: no cache keeps it.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
	return nil
}

func (s *Server) downloadBundle(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.downloadBlob(w, r, true)
}

func (s *Server) downloadBlob(w http.ResponseWriter, r *http.Request, whole bool) error {
	rel, err := s.downloadable(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	obj, err := s.blobs.Open(r.Context(), blob.Digest(rel.PayloadDigest))
	if err != nil {
		return err
	}
	defer obj.Close()
	if obj.Size() != rel.PayloadSize {
		return fmt.Errorf("api: payload blob of release %s is %d bytes, want %d", rel.ID, obj.Size(), rel.PayloadSize)
	}
	c := content{etag: `"p-` + rel.ID + `"`, name: fileName(rel) + ".age", ctype: "application/octet-stream", tail: obj}
	if whole {
		c.etag, c.name, c.ctype, c.head = `"b-`+rel.ID+`"`, fileName(rel)+".tfb", "application/vnd.trustforge.bundle", rel.Prefix
	}
	return serveContent(w, r, c)
}

// content is a download: head's bytes followed by tail's (either may be
// empty), served with single-range support.
type content struct {
	etag, name, ctype string
	head              []byte
	tail              blob.Object
}

func serveContent(w http.ResponseWriter, r *http.Request, c content) error {
	size := int64(len(c.head))
	if c.tail != nil {
		size += c.tail.Size()
	}
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", c.etag)
	h.Set("Content-Type", c.ctype)
	h.Set("Content-Disposition", `attachment; filename="`+c.name+`"`)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")

	start, length, partial := int64(0), size, false
	if rh := r.Header.Get("Range"); rh != "" {
		if ir := r.Header.Get("If-Range"); ir == "" || ir == c.etag {
			var err error
			start, length, partial, err = parseRange(rh, size)
			if err != nil {
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
				return errorf(http.StatusRequestedRangeNotSatisfiable, apiwire.CodeBadRange, "range %q is outside the %d-byte download", rh, size)
			}
		}
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, size))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead || length == 0 {
		return nil
	}
	if n := int64(len(c.head)); start < n {
		end := min(n, start+length)
		if _, err := w.Write(c.head[start:end]); err != nil {
			return nil // the client went away; nothing more to say
		}
		length -= end - start
		start = end
	}
	if length > 0 {
		// On an error the body stays shorter than its Content-Length, so
		// net/http closes the connection and the client sees a truncated
		// transfer, which it can resume with a Range request.
		if _, err := c.tail.Seek(start-int64(len(c.head)), io.SeekStart); err != nil {
			return nil
		}
		// io.CopyN hands the file to the connection's ReadFrom: sendfile(2).
		io.CopyN(w, c.tail, length)
	}
	return nil
}
