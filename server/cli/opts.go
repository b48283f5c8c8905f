package cli

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The image and key commands take their options as MCUboot's imgtool does,
// so build scripts carry over: short and long names (-k, --key), a single
// dash for long names too (-key), --name=value, options after positional
// arguments, and options with two values (--custom-tlv TAG VALUE), which
// the flag package cannot express.

// optKind is how many values an option takes.
type optKind int

const (
	optBool  optKind = iota // a switch
	optValue                // one value
	optPair                 // two values
)

// optSpec describes one option.
type optSpec struct {
	long    string // without dashes: "key"
	short   string // without dash: "k"; empty when none
	kind    optKind
	multi   bool // may be given more than once
	metavar string
	help    string
}

// optSet is a parsed command line.
type optSet struct {
	specs  []optSpec
	values map[string][]string // long name → values, pairs flattened
	args   []string            // positional arguments
}

// parseOpts parses argv against specs. -h/--help prints the usage and
// returns flag.ErrHelp.
func parseOpts(env Env, synopsis string, specs []optSpec, argv []string) (*optSet, error) {
	o := &optSet{specs: specs, values: map[string][]string{}}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			o.args = append(o.args, argv[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			o.args = append(o.args, a)
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, inline, hasInline := strings.Cut(name, "=")
		if name == "h" || name == "help" {
			printOptUsage(env.Stderr, synopsis, specs)
			return nil, flag.ErrHelp
		}
		spec := o.lookup(name)
		if spec == nil {
			return nil, usageErrorf("unknown option %s (see -h)", a)
		}
		if !spec.multi && len(o.values[spec.long]) > 0 {
			return nil, usageErrorf("option --%s given twice", spec.long)
		}
		switch spec.kind {
		case optBool:
			v := "true"
			if hasInline {
				b, err := strconv.ParseBool(inline)
				if err != nil {
					return nil, usageErrorf("option --%s takes no value, or true/false", spec.long)
				}
				v = strconv.FormatBool(b)
			}
			o.values[spec.long] = append(o.values[spec.long], v)
		case optValue:
			if !hasInline {
				if i+1 >= len(argv) {
					return nil, usageErrorf("option --%s needs a value", spec.long)
				}
				i++
				inline = argv[i]
			}
			o.values[spec.long] = append(o.values[spec.long], inline)
		case optPair:
			if hasInline || i+2 >= len(argv) {
				return nil, usageErrorf("option --%s needs two values: --%s %s", spec.long, spec.long, spec.metavar)
			}
			o.values[spec.long] = append(o.values[spec.long], argv[i+1], argv[i+2])
			i += 2
		}
	}
	return o, nil
}

func (o *optSet) lookup(name string) *optSpec {
	for i := range o.specs {
		s := &o.specs[i]
		if name == s.long || (s.short != "" && name == s.short) {
			return s
		}
	}
	return nil
}

// str returns the option's value, or "" when it was not given.
func (o *optSet) str(long string) string {
	v := o.values[long]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// has reports whether the option was given.
func (o *optSet) has(long string) bool { return len(o.values[long]) > 0 }

// list returns every value given to a repeatable option.
func (o *optSet) list(long string) []string { return o.values[long] }

// flag returns a switch's value.
func (o *optSet) flag(long string) bool { return o.str(long) == "true" }

// require returns the option's value, or a usage error when it is missing.
func (o *optSet) require(long string) (string, error) {
	if !o.has(long) {
		return "", usageErrorf("missing required option --%s", long)
	}
	return o.str(long), nil
}

// integer parses the option as imgtool parses numbers: decimal, or with a
// 0x, 0o or 0b prefix. It returns def when the option is absent.
func (o *optSet) integer(long string, def, max int64) (int64, error) {
	if !o.has(long) {
		return def, nil
	}
	n, err := parseInteger(o.str(long), max)
	if err != nil {
		return 0, usageErrorf("--%s: %v", long, err)
	}
	return n, nil
}

func parseInteger(s string, max int64) (int64, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil || n < 0 || n > max {
		return 0, fmt.Errorf("%q is not a number from 0 to %d (use 0x for hex)", s, max)
	}
	return n, nil
}

// positionals returns exactly n positional arguments or a usage error.
func (o *optSet) positionals(n int, names string) ([]string, error) {
	if len(o.args) != n {
		return nil, usageErrorf("want %s, got %d argument(s)", names, len(o.args))
	}
	return o.args, nil
}

func printOptUsage(w io.Writer, synopsis string, specs []optSpec) {
	fmt.Fprintf(w, "usage: trustforge %s\n", synopsis)
	if len(specs) == 0 {
		return
	}
	fmt.Fprintln(w, "\noptions (-x and --x are the same):")
	for _, s := range specs {
		names := "--" + s.long
		if s.short != "" {
			names = "-" + s.short + ", " + names
		}
		if s.metavar != "" {
			names += " " + s.metavar
		}
		fmt.Fprintf(w, "  %s\n    \t%s\n", names, s.help)
	}
}
