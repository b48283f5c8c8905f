package wasmsize

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
)

// Report writes the module's sections, its top packages by code size and its
// code by module, as aligned text. pkgs names the packages (see
// NewPackages); top limits the package list (0: all).
func (m *Module) Report(w io.Writer, pkgs *Packages, top int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "section\tbytes\tKiB\tshare\t\n")
	for _, s := range m.Sections {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f %%\t\n", s.Name, s.Size, kib(s.Size), pct(s.Size, m.Size))
	}
	fmt.Fprintf(tw, "module\t%d\t%.1f\t100.0 %%\t\n", m.Size, kib(m.Size))
	if err := tw.Flush(); err != nil {
		return err
	}
	if !m.Named {
		_, err := fmt.Fprintln(w, "\nno name section (linked with -ldflags=-s): no sizes by package")
		return err
	}
	code := 0
	for _, f := range m.Funcs {
		code += f.Size
	}
	sizes := m.ByPackage(pkgs)
	fmt.Fprintf(w, "\ncode by package (%d functions, %.1f KiB of code in %d packages)\n", len(m.Funcs), kib(code), len(sizes))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "package\tfuncs\tKiB\tshare of code\n")
	shown := sizes
	if top > 0 && len(shown) > top {
		shown = shown[:top]
	}
	for _, p := range shown {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f %%\n", p.Package, p.Funcs, kib(p.Size), pct(p.Size, code))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	mods := map[string]int{}
	for _, p := range sizes {
		mods[ModuleOf(p.Package)] += p.Size
	}
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return mods[names[i]] > mods[names[j]] })
	fmt.Fprintf(w, "\ncode by module\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%.1f KiB\t%.1f %%\n", n, kib(mods[n]), pct(mods[n], code))
	}
	return tw.Flush()
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
}

func kib(n int) float64 { return float64(n) / 1024 }

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
