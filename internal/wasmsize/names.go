package wasmsize

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// A Go program's function name table (the PC/line table's funcnametab) holds
// every function's full name, such as
// "github.com/maxence-charriere/go-app/v10/pkg/app.(*Elem).setAttr", as
// NUL-terminated strings one after another; each function record and each
// inlined call names its function by the offset its string starts at. On
// js/wasm the runtime reads the names for three things only (Go 1.20 to
// 1.26's runtime, every reader of funcname, srcFunc.name and FuncForPC):
//
//   - printing them: stack traces, runtime.FuncForPC(pc).Name() and
//     runtime.Frame.Function, which reflect and internal/reflectlite use
//     for panic messages about misused reflect.Values;
//   - deciding what a stack trace shows and counts: a function whose name has
//     no '.' is hidden, and one starting "runtime." is hidden unless exported
//     or "runtime.gopanic"; a goroutine whose first function starts
//     "runtime." is a system goroutine (not counted by runtime.NumGoroutine
//     nor shown in tracebacks of all goroutines);
//   - the stack maps of "reflect.makeFuncStub" and "reflect.methodValueCall",
//     which the garbage collector and stack copying find by name.
//
// (runtime.panicCheck1's "runtime." test is skipped on WebAssembly, and
// asynchronous preemption and the debugger's call injection, which also read
// names, do not exist there.)
//
// StripNames keeps the names of the runtime and reflect packages as they are
// (KeptNamePrefixes), so all three work as before, and replaces every other
// name with a short one, NamePrefix and the name's index in hexadecimal
// ("~.2f4"; of the bases tried, 10 and 16 compress best, 36, 62 and 90
// worse), written at the same offset and padded with NUL bytes to the
// old length: no offset changes, and the padding compresses to almost
// nothing. The short names are unique, contain a '.', start with neither
// kept prefix, and are never longer than the names they replace (a name too
// short to replace stays). A Names table, written next to the module by
// wasmpack, turns them back into full names (Names.Symbolize).
//
// Short names for the runtime's unexported functions too ("runtime.~.1c",
// which a stack trace hides and counts as it does the originals) were
// measured on the console: 302 bytes larger in brotli, so they stay.

// NamePrefix starts every short name StripNames writes.
const NamePrefix = "~."

// KeptNamePrefixes are the prefixes of the names StripNames keeps, because
// the runtime or reflect compare them.
var KeptNamePrefixes = []string{"runtime.", "reflect.", "internal/reflectlite."}

// NameStats says what StripNames changed.
type NameStats struct {
	Names    int // names in the table
	Replaced int // names replaced by short ones
	Kept     int // names kept: runtime, reflect, or too short to replace
	Zeroed   int // bytes of the table set to zero
}

// Names maps the short names StripNames wrote back to the full names:
// Names[i] is the full name of NamePrefix + i in hexadecimal, "" where name i was
// kept.
type Names []string

// shortName is the short name of the i-th name.
func shortName(i int) string { return NamePrefix + strconv.FormatInt(int64(i), 16) }

// StripNames returns the module with the function names of its PC/line
// table replaced by short ones (see above), the table to recover them, and
// what it changed. Like StripLines it needs a module linked by Go 1.20 to
// 1.26 for js/wasm (ErrNoModuledata otherwise) and refuses a name table
// whose last name has no end (ErrUnsupported). Every other byte of the
// module is copied unchanged.
func StripNames(b []byte) ([]byte, Names, NameStats, error) {
	var names Names
	var stats NameStats
	out, err := rewriteData(b, func(segs []segment) ([]segment, error) {
		var err error
		names, stats, err = stripNames(segs)
		return segs, err
	})
	if err != nil {
		return nil, nil, NameStats{}, err
	}
	return out, names, stats, nil
}

func stripNames(segs []segment) (Names, NameStats, error) {
	mem := memory(segs)
	md, ok := findModuledata(mem)
	if !ok {
		return nil, NameStats{}, ErrNoModuledata
	}
	u64 := func(i int) uint64 { return binary.LittleEndian.Uint64(mem.read(md+uint32(8*i), 8)) }
	start, n := u64(1), u64(2)
	if n == 0 {
		return nil, NameStats{}, nil
	}
	last := segs[len(segs)-1]
	if n > maxImage || start+n > uint64(last.offset)+uint64(len(last.data)) {
		return nil, NameStats{}, fmt.Errorf("%w: function name table of %d bytes at %#x", ErrUnsupported, n, start)
	}
	tab := mem.read(uint32(start), int(n))
	if tab[len(tab)-1] != 0 {
		return nil, NameStats{}, fmt.Errorf("%w: the function name table's last name has no end", ErrUnsupported)
	}
	var names Names
	var stats NameStats
	for off := 0; off < len(tab); {
		end := off + bytes.IndexByte(tab[off:], 0)
		name := string(tab[off:end])
		i := len(names)
		short := shortName(i)
		switch {
		case name == "":
			names = append(names, "")
		case keptName(name) || len(short) >= len(name):
			names = append(names, "")
			stats.Kept++
		default:
			names = append(names, name)
			stats.Replaced++
			copy(tab[off:], short)
			clear(tab[off+len(short) : end])
			stats.Zeroed += end - off - len(short)
		}
		off = end + 1
	}
	stats.Names = len(names)
	write(segs, start, tab)
	return names, stats, nil
}

// keptName reports whether name starts with one of KeptNamePrefixes.
func keptName(name string) bool {
	for _, p := range KeptNamePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// write sets memory at addr to b: the bytes segments hold change, and the
// bytes between segments must already be zero in b.
func write(segs []segment, addr uint64, b []byte) {
	for i := range segs {
		s := segs[i]
		lo := max(addr, uint64(s.offset))
		hi := min(addr+uint64(len(b)), uint64(s.offset)+uint64(len(s.data)))
		if hi > lo {
			copy(s.data[lo-uint64(s.offset):hi-uint64(s.offset)], b[lo-addr:hi-addr])
		}
	}
}

// namesHeader starts a names file; the module's SHA-256 follows it.
const namesHeader = "# wasmpack function names v1, module sha256 "

// maxNames bounds the names a names file may hold, and maxNameLen a name.
const (
	maxNames   = 1 << 22
	maxNameLen = 1 << 16
)

// WriteNames writes names as the text file wasmpack leaves next to a module:
// a header line naming the module's SHA-256, then one line per replaced
// name, its short name, a tab and its full name.
func WriteNames(w io.Writer, module []byte, names Names) error {
	sum := sha256.Sum256(module)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s%x\n", namesHeader, sum)
	for i, name := range names {
		if name != "" {
			fmt.Fprintf(bw, "%s\t%s\n", shortName(i), name)
		}
	}
	return bw.Flush()
}

// ErrNamesMismatch is returned by ReadNames when the names file was written
// for another module.
var ErrNamesMismatch = errors.New("wasmsize: names file was written for another module")

// ReadNames reads a names file WriteNames wrote. If module is not nil, it
// checks that the file was written for it (ErrNamesMismatch otherwise).
func ReadNames(r io.Reader, module []byte) (Names, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxNameLen+64)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("wasmsize: names file: %w", err)
		}
		return nil, errors.New("wasmsize: names file is empty")
	}
	sum, ok := strings.CutPrefix(sc.Text(), namesHeader)
	if !ok {
		return nil, errors.New("wasmsize: not a names file (no header line)")
	}
	want, err := hex.DecodeString(sum)
	if err != nil || len(want) != sha256.Size {
		return nil, errors.New("wasmsize: names file: bad module hash in header")
	}
	if module != nil {
		if got := sha256.Sum256(module); !bytes.Equal(got[:], want) {
			return nil, ErrNamesMismatch
		}
	}
	var names Names
	for line := 2; sc.Scan(); line++ {
		short, name, ok := strings.Cut(sc.Text(), "\t")
		digits, isShort := strings.CutPrefix(short, NamePrefix)
		if !ok || !isShort || name == "" {
			return nil, fmt.Errorf("wasmsize: names file line %d: want a short name, a tab and a name", line)
		}
		i, err := strconv.ParseUint(digits, 16, 32)
		if err != nil || shortName(int(i)) != short || i >= maxNames {
			return nil, fmt.Errorf("wasmsize: names file line %d: bad short name %q", line, short)
		}
		if int(i) < len(names) {
			return nil, fmt.Errorf("wasmsize: names file line %d: %q out of order", line, short)
		}
		for len(names) < int(i) {
			names = append(names, "")
		}
		names = append(names, name)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("wasmsize: names file: %w", err)
	}
	return names, nil
}

// shortNameRE matches a short name in text.
var shortNameRE = regexp.MustCompile(regexp.QuoteMeta(NamePrefix) + `[0-9A-Za-z_]+`)

// Symbolize copies text, such as a stack trace from a browser's console,
// with every short name names knows replaced by its full name.
func (names Names) Symbolize(text string) string {
	return shortNameRE.ReplaceAllStringFunc(text, func(s string) string {
		i, err := strconv.ParseUint(s[len(NamePrefix):], 16, 32)
		if err != nil || i >= uint64(len(names)) || names[i] == "" || shortName(int(i)) != s {
			return s
		}
		return names[i]
	})
}
