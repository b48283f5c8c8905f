package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a Store in a bucket of an S3-compatible object store (AWS S3,
// Ceph RGW, MinIO, SeaweedFS, Garage, versitygw…), which any number of
// server instances may share:
//
//	PREFIX/sha256/ab/abcdef…   committed blobs
//	PREFIX/staging/…           blobs being written, and multipart uploads
//
// A writer keeps up to PartSize bytes in memory. A blob that fits is put
// in one request under its digest at Commit, once the digest is known. A
// larger one streams as a multipart upload to a staging key; Commit
// completes it, checks the staged object's size, and copies it server-side
// to its digest's key. Either way the object under a digest appears whole
// or not at all, and Walk lists committed keys only.
//
// Garbage collection (Collect) is safe against uploads in progress on
// other instances: it removes only unreferenced blobs, staging objects and
// multipart uploads older than a grace period, far longer than an upload
// takes between committing its blob and its metadata; and with a Guard
// (the server's leases in its database), an upload of the same bytes as
// an old orphan cannot commit between the collector's last look and its
// delete.
type S3 struct {
	core   *minio.Core
	bucket string
	prefix string // "" or ending in "/"
	// PartSize is the size of a multipart upload's parts and the most a
	// writer holds in memory. Zero means 16 MiB.
	PartSize int64
}

// S3Config configures OpenS3.
type S3Config struct {
	// Bucket holds the blobs; it must exist.
	Bucket string
	// Prefix is prepended to every key, such as "trustforge"; "" means the
	// bucket's root.
	Prefix string
	// Endpoint is the server's URL, such as "http://127.0.0.1:7070" or
	// "https://s3.eu-west-1.amazonaws.com". "" means AWS S3.
	Endpoint string
	// Region is the bucket's region; "" lets the client find it.
	Region string
	// PathStyle addresses buckets as a path (endpoint/bucket/key) rather
	// than as a host name; servers other than AWS usually want it.
	PathStyle bool
	// Creds are the credentials. Nil means the environment:
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or MINIO_ACCESS_KEY and
	// MINIO_SECRET_KEY), then the AWS shared credentials file, then an
	// instance role.
	Creds *credentials.Credentials
	// Transport carries the requests; nil means a default transport.
	Transport http.RoundTripper
}

// ParseS3URL parses a blob store URL of the form
//
//	s3://BUCKET[/PREFIX][?endpoint=URL][&region=R][&lookup=path|dns]
//	   [&access_key_file=PATH&secret_key_file=PATH]
//
// Credentials never travel in the URL: they come from the named files or
// the environment (see S3Config.Creds).
func ParseS3URL(raw string) (S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return S3Config{}, fmt.Errorf("blob: bad S3 URL: %w", err)
	}
	if u.Scheme != "s3" {
		return S3Config{}, fmt.Errorf("blob: S3 URL %q must start with s3://", raw)
	}
	if u.User != nil {
		return S3Config{}, errors.New("blob: S3 URL must not carry credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or access_key_file and secret_key_file")
	}
	if u.Host == "" {
		return S3Config{}, fmt.Errorf("blob: S3 URL %q names no bucket", raw)
	}
	q := u.Query()
	c := S3Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: q.Get("endpoint"), Region: q.Get("region")}
	switch l := q.Get("lookup"); l {
	case "", "path":
		c.PathStyle = c.Endpoint != "" || l == "path"
	case "dns":
	default:
		return S3Config{}, fmt.Errorf("blob: S3 URL: lookup=%q, want path or dns", l)
	}
	akf, skf := q.Get("access_key_file"), q.Get("secret_key_file")
	if (akf == "") != (skf == "") {
		return S3Config{}, errors.New("blob: S3 URL: access_key_file and secret_key_file go together")
	}
	if akf != "" {
		ak, err := readKeyFile(akf)
		if err != nil {
			return S3Config{}, err
		}
		sk, err := readKeyFile(skf)
		if err != nil {
			return S3Config{}, err
		}
		c.Creds = credentials.NewStaticV4(ak, sk, "")
	}
	for k := range q {
		switch k {
		case "endpoint", "region", "lookup", "access_key_file", "secret_key_file":
		default:
			return S3Config{}, fmt.Errorf("blob: S3 URL: unknown parameter %q", k)
		}
	}
	return c, nil
}

func readKeyFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("blob: S3 credentials: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// OpenS3 connects to a bucket and checks that it is reachable.
func OpenS3(ctx context.Context, c S3Config) (*S3, error) {
	host, secure := "s3.amazonaws.com", true
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("blob: S3 endpoint %q must be an http:// or https:// URL", c.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	creds := c.Creds
	if creds == nil {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
		})
	}
	lookup := minio.BucketLookupAuto
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	core, err := minio.NewCore(host, &minio.Options{Creds: creds, Secure: secure, Region: c.Region,
		BucketLookup: lookup, Transport: c.Transport})
	if err != nil {
		return nil, fmt.Errorf("blob: S3: %w", err)
	}
	s := &S3{core: core, bucket: c.Bucket}
	if c.Prefix != "" {
		s.prefix = strings.Trim(c.Prefix, "/") + "/"
	}
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Ping checks that the bucket is reachable with the credentials given.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: S3 bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("blob: S3 bucket %s does not exist", s.bucket)
	}
	return nil
}

func (s *S3) key(d Digest) string {
	h := d.String()
	return s.prefix + "sha256/" + h[:2] + "/" + h
}

func (s *S3) partSize() int64 {
	if s.PartSize <= 0 {
		return 16 << 20
	}
	return max(s.PartSize, 5<<20) // S3's smallest part but the last
}

func isNoSuchKey(err error) bool {
	var r minio.ErrorResponse
	if errors.As(err, &r) {
		return r.Code == "NoSuchKey" || r.Code == "NotFound" || r.StatusCode == http.StatusNotFound
	}
	return false
}

// Create starts a new blob.
func (s *S3) Create(ctx context.Context) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	return &s3Writer{s: s, ctx: ctx, h: sha256.New(),
		staging: s.prefix + "staging/" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(id[:])}, nil
}

// Open opens a committed blob. It starts a GET of the whole blob, which
// a read from the start streams; a Seek elsewhere replaces it by a ranged
// GET from there, so a Range download fetches only its range.
func (s *S3) Open(ctx context.Context, d Digest) (Object, error) {
	o := &s3Object{ctx: ctx, s: s, key: s.key(d)}
	body, info, _, err := s.core.GetObject(ctx, s.bucket, o.key, minio.GetObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
		}
		return nil, fmt.Errorf("blob: S3: %w", err)
	}
	o.body, o.size = body, info.Size
	return o, nil
}

// s3Object reads a blob through one streaming GET at a time.
type s3Object struct {
	ctx  context.Context
	s    *S3
	key  string
	size int64
	off  int64         // the offset the next Read reads from
	body io.ReadCloser // a GET whose next byte is at off, or nil
}

func (o *s3Object) Size() int64 { return o.size }

func (o *s3Object) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	if o.body == nil {
		opts := minio.GetObjectOptions{}
		if o.off > 0 {
			if err := opts.SetRange(o.off, 0); err != nil { // bytes=off-
				return 0, fmt.Errorf("blob: S3: %w", err)
			}
		}
		body, _, _, err := o.s.core.GetObject(o.ctx, o.s.bucket, o.key, opts)
		if err != nil {
			return 0, fmt.Errorf("blob: S3: %w", err)
		}
		o.body = body
	}
	n, err := o.body.Read(p)
	o.off += int64(n)
	if err == io.EOF && o.off < o.size {
		err = fmt.Errorf("blob: S3: %s ended at %d of %d bytes: %w", o.key, o.off, o.size, io.ErrUnexpectedEOF)
	}
	return n, err
}

func (o *s3Object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.size
	}
	if offset < 0 {
		return o.off, errors.New("blob: seek before the start")
	}
	if offset != o.off && o.body != nil {
		o.body.Close()
		o.body = nil
	}
	o.off = offset
	return offset, nil
}

func (o *s3Object) Close() error {
	if o.body != nil {
		err := o.body.Close()
		o.body = nil
		return err
	}
	return nil
}

// Delete removes a committed blob.
func (s *S3) Delete(ctx context.Context, d Digest) error {
	if err := s.core.Client.RemoveObject(ctx, s.bucket, s.key(d), minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("blob: S3: %w", err)
	}
	return nil
}

// deleteIfOlder deletes a committed blob unless it was committed (again)
// at or after before. By itself it leaves a commit one round trip to land
// between the check and the delete; Collect's Guard closes that window.
func (s *S3) deleteIfOlder(ctx context.Context, d Digest, before time.Time) (bool, error) {
	st, err := s.core.Client.StatObject(ctx, s.bucket, s.key(d), minio.StatObjectOptions{})
	if isNoSuchKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob: S3: %w", err)
	}
	if !st.LastModified.Before(before) {
		return false, nil
	}
	return true, s.Delete(ctx, d)
}

// PresignGet returns a URL that fetches blob d straight from the bucket,
// Range requests included, until ttl (at most seven days) has passed; the
// bucket answers it with media type ctype, as an attachment called name.
// It first checks that the blob is there and size bytes long, so a
// missing or damaged blob is an error here rather than at the bucket.
func (s *S3) PresignGet(ctx context.Context, d Digest, size int64, ttl time.Duration, name, ctype string) (*url.URL, error) {
	st, err := s.core.Client.StatObject(ctx, s.bucket, s.key(d), minio.StatObjectOptions{})
	if isNoSuchKey(err) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: S3: %w", err)
	}
	if st.Size != size {
		return nil, fmt.Errorf("blob: S3: %s is %d bytes, want %d", d, st.Size, size)
	}
	q := url.Values{}
	q.Set("response-content-type", ctype)
	q.Set("response-content-disposition", `attachment; filename="`+name+`"`)
	u, err := s.core.Client.PresignedGetObject(ctx, s.bucket, s.key(d), ttl, q)
	if err != nil {
		return nil, fmt.Errorf("blob: S3: presigning %s: %w", d, err)
	}
	return u, nil
}

// Walk lists committed blobs.
func (s *S3) Walk(ctx context.Context, fn func(Digest) error) error {
	return s.WalkInfo(ctx, func(i Info) error { return fn(i.Digest) })
}

// WalkInfo lists committed blobs with their size and time of commit.
func (s *S3) WalkInfo(ctx context.Context, fn func(Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for o := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + "sha256/", Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("blob: S3: listing: %w", o.Err)
		}
		d, err := ParseDigest(path.Base(o.Key))
		if err != nil || s.key(d) != o.Key {
			continue // not ours; leave it alone
		}
		if err := fn(Info{Digest: d, Size: o.Size, Modified: o.LastModified}); err != nil {
			return err
		}
	}
	return nil
}

// Sweep removes staging objects and multipart uploads begun before
// before: uploads that crashed or were abandoned.
func (s *S3) Sweep(ctx context.Context, before time.Time) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for o := range s.core.Client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + "staging/", Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("blob: S3: listing staging: %w", o.Err)
		}
		if o.LastModified.Before(before) {
			if err := s.core.Client.RemoveObject(ctx, s.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
				return fmt.Errorf("blob: S3: %w", err)
			}
		}
	}
	for u := range s.core.Client.ListIncompleteUploads(lctx, s.bucket, s.prefix+"staging/", true) {
		if u.Err != nil {
			return fmt.Errorf("blob: S3: listing uploads: %w", u.Err)
		}
		if u.Initiated.Before(before) {
			if err := s.core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil && !isNoSuchKey(err) {
				var r minio.ErrorResponse
				if !errors.As(err, &r) || r.Code != "NoSuchUpload" {
					return fmt.Errorf("blob: S3: %w", err)
				}
			}
		}
	}
	return nil
}

// s3Writer buffers one part; past it, it streams a multipart upload to
// its staging key.
type s3Writer struct {
	s       *S3
	ctx     context.Context
	h       hash.Hash
	n       int64
	buf     bytes.Buffer
	staging string
	upload  string // multipart upload id, once started
	parts   []minio.CompletePart
	err     error
	done    bool
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, errors.New("blob: write after commit or abort")
	}
	total := len(p)
	for len(p) > 0 {
		room := int(w.s.partSize()) - w.buf.Len()
		k := min(room, len(p))
		w.buf.Write(p[:k])
		w.h.Write(p[:k])
		w.n += int64(k)
		p = p[k:]
		if int64(w.buf.Len()) == w.s.partSize() && len(p) > 0 {
			if err := w.flushPart(w.ctx); err != nil {
				w.err = err
				return total - len(p), err
			}
		}
	}
	return total, nil
}

// flushPart uploads the buffer as the next part.
func (w *s3Writer) flushPart(ctx context.Context) error {
	c := w.s.core
	if w.upload == "" {
		id, err := c.NewMultipartUpload(ctx, w.s.bucket, w.staging, minio.PutObjectOptions{ContentType: "application/octet-stream"})
		if err != nil {
			return fmt.Errorf("blob: S3: starting upload: %w", err)
		}
		w.upload = id
	}
	n := len(w.parts) + 1
	sum := sha256.Sum256(w.buf.Bytes())
	p, err := c.PutObjectPart(ctx, w.s.bucket, w.staging, w.upload, n, bytes.NewReader(w.buf.Bytes()), int64(w.buf.Len()),
		minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(sum[:])})
	if err != nil {
		return fmt.Errorf("blob: S3: uploading part %d: %w", n, err)
	}
	w.parts = append(w.parts, minio.CompletePart{PartNumber: n, ETag: p.ETag})
	w.buf.Reset()
	return nil
}

func (w *s3Writer) Sum() (Digest, int64) {
	var d Digest
	w.h.Sum(d[:0])
	return d, w.n
}

// Commit puts a small blob under its digest, or completes the multipart
// upload, checks the staged size and copies it under its digest.
func (w *s3Writer) Commit(ctx context.Context) (Digest, error) {
	if w.done {
		return Digest{}, errors.New("blob: commit after commit or abort")
	}
	if w.err != nil {
		w.Abort()
		return Digest{}, w.err
	}
	if err := ctx.Err(); err != nil {
		w.Abort()
		return Digest{}, err
	}
	d, n := w.Sum()
	c, s := w.s.core, w.s
	if w.upload == "" {
		// One request, sent once the digest is known; S3 checks the
		// body's SHA-256 against the signed header.
		sum := hex.EncodeToString(d[:])
		_, err := c.PutObject(ctx, s.bucket, s.key(d), bytes.NewReader(w.buf.Bytes()), n, "", sum,
			minio.PutObjectOptions{ContentType: "application/octet-stream"})
		w.done = true
		w.buf = bytes.Buffer{}
		if err != nil {
			return Digest{}, fmt.Errorf("blob: S3: %w", err)
		}
		return d, nil
	}
	if w.buf.Len() > 0 {
		if err := w.flushPart(ctx); err != nil {
			w.Abort()
			return Digest{}, err
		}
	}
	if _, err := c.CompleteMultipartUpload(ctx, s.bucket, w.staging, w.upload, w.parts, minio.PutObjectOptions{}); err != nil {
		w.Abort()
		return Digest{}, fmt.Errorf("blob: S3: completing upload: %w", err)
	}
	w.upload = ""
	st, err := c.Client.StatObject(ctx, s.bucket, w.staging, minio.StatObjectOptions{})
	if err != nil || st.Size != n {
		w.Abort()
		if err == nil {
			err = fmt.Errorf("staged %d bytes, wrote %d", st.Size, n)
		}
		return Digest{}, fmt.Errorf("blob: S3: checking the staged upload: %w", err)
	}
	// The copy is always made, even when the digest's object exists: it
	// refreshes its time so a concurrent garbage collection keeps it.
	if _, err := c.Client.ComposeObject(ctx, minio.CopyDestOptions{Bucket: s.bucket, Object: s.key(d)},
		minio.CopySrcOptions{Bucket: s.bucket, Object: w.staging, MatchETag: st.ETag}); err != nil {
		w.Abort()
		return Digest{}, fmt.Errorf("blob: S3: copying the upload under its digest: %w", err)
	}
	w.done = true
	c.Client.RemoveObject(context.WithoutCancel(ctx), s.bucket, w.staging, minio.RemoveObjectOptions{}) // else swept later
	return d, nil
}

// Abort discards the staged parts or object.
func (w *s3Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.buf = bytes.Buffer{}
	ctx := context.WithoutCancel(w.ctx)
	var err error
	if w.upload != "" {
		err = w.s.core.AbortMultipartUpload(ctx, w.s.bucket, w.staging, w.upload)
	}
	if rerr := w.s.core.Client.RemoveObject(ctx, w.s.bucket, w.staging, minio.RemoveObjectOptions{}); rerr != nil && !isNoSuchKey(rerr) && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("blob: S3: aborting upload: %w", err)
	}
	return nil
}
