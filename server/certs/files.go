package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// Files serves a certificate and private key kept in PEM files, as a
// reverse proxy's or an operator's tooling renews them. It is safe for
// concurrent use.
type Files struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // the files' sizes and modification times when loaded
	checked time.Time
}

// LoadFiles reads a certificate chain (leaf first) and its private key.
func LoadFiles(certFile, keyFile string) (*Files, error) {
	f := &Files{certFile: certFile, keyFile: keyFile}
	if _, err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Files) fileStamp() (string, error) {
	var s string
	for _, p := range []string{f.certFile, f.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("certs: %w", err)
		}
		s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

// Reload reads the files again and, if they hold a valid pair, serves it
// to new connections; connections already open keep theirs. On error the
// pair in use stays. It reports whether the pair changed.
func (f *Files) Reload() (bool, error) {
	stamp, err := f.fileStamp()
	if err != nil {
		return false, err
	}
	c, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return false, fmt.Errorf("certs: loading %s and %s: %w", f.certFile, f.keyFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return false, fmt.Errorf("certs: %s: %w", f.certFile, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	changed := f.cert == nil || !f.cert.Leaf.Equal(c.Leaf)
	f.cert, f.stamp, f.checked = &c, stamp, time.Now()
	return changed, nil
}

// Leaf returns the certificate in use.
func (f *Files) Leaf() *x509.Certificate {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cert.Leaf
}

// GetCertificate is a tls.Config GetCertificate that serves the pair in
// use.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cert, nil
}

// Watch reloads the pair whenever the files' sizes or modification times
// change, checking every interval (zero: 10 seconds), until ctx is done.
// Failed reloads are reported to onError (when not nil) and retried at the
// next change; onReload (when not nil) is told of each new pair.
func (f *Files) Watch(ctx context.Context, interval time.Duration, onReload func(*x509.Certificate), onError func(error)) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var failed string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stamp, err := f.fileStamp()
		if err != nil {
			if failed == err.Error() {
				continue
			}
			failed = err.Error()
			if onError != nil {
				onError(err)
			}
			continue
		}
		f.mu.Lock()
		same := stamp == f.stamp
		f.mu.Unlock()
		if same || stamp == failed {
			continue
		}
		changed, err := f.Reload()
		if err != nil {
			failed = stamp
			if onError != nil {
				onError(err)
			}
			continue
		}
		failed = ""
		if changed && onReload != nil {
			onReload(f.Leaf())
		}
	}
}
