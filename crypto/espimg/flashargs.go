package espimg

import (
	"encoding/json"
	"path"
	"strconv"
	"strings"

	"trustforge/internal/usererr"
)

// FlashFile is one binary of a flash set as a build describes it: where it
// goes and where its file is, relative to the description.
type FlashFile struct {
	Offset  uint32
	Path    string // slash-separated, relative, never leaving the directory
	Encrypt bool
}

// cleanRel refuses absolute paths and paths that climb out of the
// directory of the file that names them.
func cleanRel(p string) (string, error) {
	p = strings.ReplaceAll(p, "\\", "/")
	c := path.Clean(p)
	if p == "" || path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || strings.Contains(c, ":") {
		return "", usererr.Errorf("espimg", "path %q must be relative and stay in its directory", p)
	}
	return c, nil
}

// webToolsManifest is the manifest.json of ESP Web Tools.
type webToolsManifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Builds  []struct {
		ChipFamily string `json:"chipFamily"`
		Parts      []struct {
			Path   string          `json:"path"`
			Offset json.RawMessage `json:"offset"`
		} `json:"parts"`
	} `json:"builds"`
}

// WebToolsBuild is the build for one chip in an ESP Web Tools manifest.
type WebToolsBuild struct {
	Name, Version string
	Chip          Chip
	Files         []FlashFile
}

// ParseWebToolsManifest reads an ESP Web Tools manifest.json and returns
// its build for chip ("chipFamily": "ESP32-C3"). Offsets may be numbers or
// strings ("0x10000").
func ParseWebToolsManifest(b []byte, chip Chip) (*WebToolsBuild, error) {
	var m webToolsManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, usererr.Errorf("espimg", "manifest.json: %w", err)
	}
	var have []string
	for _, bd := range m.Builds {
		c, err := ParseChip(bd.ChipFamily)
		if err != nil {
			have = append(have, bd.ChipFamily)
			continue
		}
		have = append(have, c.String())
		if c != chip {
			continue
		}
		out := &WebToolsBuild{Name: m.Name, Version: m.Version, Chip: c}
		for i, p := range bd.Parts {
			off, err := parseOffset(p.Offset)
			if err != nil {
				return nil, usererr.Errorf("espimg", "manifest.json: part %d: %w", i, err)
			}
			rel, err := cleanRel(p.Path)
			if err != nil {
				return nil, usererr.Errorf("espimg", "manifest.json: part %d: %w", i, err)
			}
			out.Files = append(out.Files, FlashFile{Offset: off, Path: rel})
		}
		if len(out.Files) == 0 {
			return nil, usererr.Errorf("espimg", "manifest.json: the %v build has no parts", c)
		}
		return out, nil
	}
	return nil, usererr.Errorf("", "%w: manifest.json has no build for %v (it has %s)", ErrWrongChip, chip, strings.Join(have, ", "))
}

func parseOffset(raw json.RawMessage) (uint32, error) {
	var n uint64
	if err := json.Unmarshal(raw, &n); err == nil {
		if n > 1<<32-1 {
			return 0, usererr.Errorf("", "offset %d is past 4 GiB", n)
		}
		return uint32(n), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, usererr.Errorf("", "offset %s is neither a number nor a string", raw)
	}
	return parseAddr(s)
}

func parseAddr(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, usererr.Errorf("", "offset %q: %w", s, err)
	}
	return uint32(v), nil
}

// ParseFlashArgs reads the flash_args file an ESP-IDF build writes (and
// `esptool write_flash @flash_args` reads): options such as --flash_mode
// (ignored here), then pairs of offset and file. "--encrypt" marks every
// file after it on its line (or all files, when alone on a line before
// them) for flash encryption, as esptool's --encrypt does.
func ParseFlashArgs(b []byte) ([]FlashFile, error) {
	var out []FlashFile
	encryptAll := false
	for ln, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		enc := encryptAll
		for i := 0; i < len(f); i++ {
			tok := f[i]
			switch {
			case tok == "--encrypt":
				enc = true
				if len(f) == 1 {
					encryptAll = true
				}
			case tok == "--encrypt-files":
				enc = true
			case strings.HasPrefix(tok, "--"):
				if !strings.Contains(tok, "=") && i+1 < len(f) && !strings.HasPrefix(f[i+1], "0x") && !strings.HasPrefix(f[i+1], "--") {
					i++ // the option's value
				}
			default:
				off, err := parseAddr(tok)
				if err != nil {
					return nil, usererr.Errorf("espimg", "flash_args line %d: %w", ln+1, err)
				}
				if i+1 >= len(f) {
					return nil, usererr.Errorf("espimg", "flash_args line %d: offset %s has no file", ln+1, tok)
				}
				rel, err := cleanRel(f[i+1])
				if err != nil {
					return nil, usererr.Errorf("espimg", "flash_args line %d: %w", ln+1, err)
				}
				out = append(out, FlashFile{Offset: off, Path: rel, Encrypt: enc})
				i++
			}
		}
	}
	if len(out) == 0 {
		return nil, usererr.Errorf("espimg", "flash_args names no files")
	}
	return out, nil
}
