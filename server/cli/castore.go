package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// dirStore is a vault.Store in a directory, one file per record, for the
// command-line CA: the same records the console keeps in IndexedDB (a
// sealed vault and the CA hierarchy), so a backup moves between them.
type dirStore struct{ dir string }

// openDirStore opens (creating) a CA directory.
func openDirStore(dir string, create bool) (*dirStore, error) {
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return nil, fmt.Errorf("%s is not a directory", dir)
	case errors.Is(err, os.ErrNotExist) && create:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	return &dirStore{dir: dir}, nil
}

// recordSuffix marks record files, so that other files in the directory
// (root.pem, a chain written there) are not taken for records.
const recordSuffix = ".rec"

func (s *dirStore) path(key string) string {
	return filepath.Join(s.dir, url.PathEscape(key)+recordSuffix)
}

func (s *dirStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := os.ReadFile(s.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

func (s *dirStore) Put(ctx context.Context, key string, value []byte) error {
	return writeOutput(s.path(key), 0o600, func(w io.Writer) error {
		_, err := w.Write(value)
		return err
	})
}

func (s *dirStore) Delete(ctx context.Context, key string) error {
	err := os.Remove(s.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (s *dirStore) List(ctx context.Context, prefix string) ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), recordSuffix)
		if !ok || e.IsDir() {
			continue
		}
		key, err := url.PathUnescape(name)
		if err != nil || !strings.HasPrefix(key, prefix) {
			continue
		}
		out = append(out, key)
	}
	sort.Strings(out)
	return out, nil
}
