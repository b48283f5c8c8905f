package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"trustforge/devices/smp"
)

// progressBar draws an upload's progress on stderr: redrawn in place on a
// terminal, a line every tenth otherwise (CI logs).
type progressBar struct {
	w        io.Writer
	on, tty  bool
	last     time.Time
	lastStep int64
	drawn    bool
}

func newProgressBar(w io.Writer, on bool) *progressBar {
	p := &progressBar{w: w, on: on}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progressBar) update(u smp.UploadProgress) {
	if !p.on || u.Total == 0 {
		return
	}
	now := time.Now()
	if p.tty {
		if now.Sub(p.last) < 100*time.Millisecond && u.Offset < u.Total {
			return
		}
		p.last = now
		fmt.Fprintf(p.w, "\r%s", progressLine(u))
		p.drawn = true
		return
	}
	step := u.Offset * 10 / u.Total
	if step != p.lastStep || !p.drawn {
		p.lastStep, p.drawn = step, true
		fmt.Fprintln(p.w, progressLine(u))
	}
}

func (p *progressBar) finish(ok bool) {
	if p.on && p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}

// progressLine renders one state of an upload:
// [##########----------]  50%  128.0/256.0 KiB  8.2 KiB/s  ETA 16s
func progressLine(u smp.UploadProgress) string {
	const width = 30
	done := int(u.Offset * width / u.Total)
	bar := strings.Repeat("#", done) + strings.Repeat("-", width-done)
	s := fmt.Sprintf("[%s] %3d%%  %.1f/%.1f KiB  %.1f KiB/s", bar, u.Offset*100/u.Total,
		float64(u.Offset)/1024, float64(u.Total)/1024, u.Rate/1024)
	if u.ETA > 0 && u.Offset < u.Total {
		s += "  ETA " + u.ETA.Round(time.Second).String()
	}
	if u.Start > 0 {
		s += fmt.Sprintf("  (resumed at %.1f KiB)", float64(u.Start)/1024)
	}
	return s
}
