package stride

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the plan as a Markdown document: a summary, then one
// section per STRIDE category with a table of its threats, mitigations and
// live statuses. It is what the console's export saves, and it prints as
// is.
func (p *Plan) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Security plan: %s\n\n", mdText(p.Product))
	fmt.Fprintf(&b, "Generated %s by trustforge from the product's configuration.", p.Generated.UTC().Format(time.RFC3339))
	switch p.ProfileSource {
	case "console":
		b.WriteString(" Provisioning profile: the console's device CA.")
	case "package":
		b.WriteString(" Provisioning profile: the latest production package.")
	default:
		b.WriteString(" Provisioning profile: not known.")
	}
	b.WriteString("\n\n")
	n := p.Count()
	fmt.Fprintf(&b, "| status | threats |\n|---|---|\n")
	for _, l := range []Level{OK, Warn, Risk, Unknown} {
		fmt.Fprintf(&b, "| %s %s | %d |\n", l.Symbol(), levelName(l), n[l])
	}
	b.WriteString("\n")
	for _, s := range p.Sections {
		fmt.Fprintf(&b, "## %s (%s) %s\n\n", s.Category.Title(), s.Category.Property(), s.Level.Symbol())
		b.WriteString("| id | threat | mitigation | status |\n|---|---|---|---|\n")
		for _, t := range s.Threats {
			status := t.Status.Level.Symbol() + " " + t.Status.Text
			if t.Status.Action != "" && t.Status.Level != OK {
				status += " — *" + t.Status.Action + "*"
			}
			fmt.Fprintf(&b, "| %s | **%s**: %s | %s | %s |\n", t.ID, mdText(t.Title), mdText(t.Threat.Threat), mdText(t.Mitigation), mdText(status))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func levelName(l Level) string {
	switch l {
	case OK:
		return "mitigated"
	case Warn:
		return "needs attention"
	case Risk:
		return "at risk"
	}
	return "unknown"
}

// mdText makes s safe in a Markdown table cell: no pipes or line breaks
// end the cell early, and no HTML is interpreted.
func mdText(s string) string {
	r := strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}
