package stride

import (
	"fmt"
	"time"
)

// Category is one of STRIDE's six threat categories.
type Category string

// The STRIDE categories, in the model's order.
const (
	Spoofing              Category = "spoofing"
	Tampering             Category = "tampering"
	Repudiation           Category = "repudiation"
	InformationDisclosure Category = "information-disclosure"
	DenialOfService       Category = "denial-of-service"
	ElevationOfPrivilege  Category = "elevation-of-privilege"
)

// Categories lists the six categories in STRIDE order.
func Categories() []Category {
	return []Category{Spoofing, Tampering, Repudiation, InformationDisclosure, DenialOfService, ElevationOfPrivilege}
}

// Title names the category for people.
func (c Category) Title() string {
	switch c {
	case Spoofing:
		return "Spoofing"
	case Tampering:
		return "Tampering"
	case Repudiation:
		return "Repudiation"
	case InformationDisclosure:
		return "Information disclosure"
	case DenialOfService:
		return "Denial of service"
	case ElevationOfPrivilege:
		return "Elevation of privilege"
	}
	return string(c)
}

// Property is the security property the category attacks.
func (c Category) Property() string {
	switch c {
	case Spoofing:
		return "authenticity"
	case Tampering:
		return "integrity"
	case Repudiation:
		return "non-repudiation"
	case InformationDisclosure:
		return "confidentiality"
	case DenialOfService:
		return "availability"
	case ElevationOfPrivilege:
		return "authorisation"
	}
	return ""
}

// Level grades a threat's live status.
type Level string

// Status levels, from best to worst. Unknown means the facts the status
// depends on are not available: it is never counted as fine.
const (
	OK      Level = "ok"
	Warn    Level = "warn"
	Risk    Level = "risk"
	Unknown Level = "unknown"
)

// Symbol is the level's one-glyph mark, as the page and the Markdown
// export show it.
func (l Level) Symbol() string {
	switch l {
	case OK:
		return "✓"
	case Warn:
		return "⚠"
	case Risk:
		return "✗"
	}
	return "?"
}

// rank orders levels from best (0) to worst.
func (l Level) rank() int {
	switch l {
	case OK:
		return 0
	case Unknown:
		return 1
	case Warn:
		return 2
	case Risk:
		return 3
	}
	return 1
}

// Worst returns the worse of two levels.
func Worst(a, b Level) Level {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Status is a threat's live status: a level and the facts that decide it,
// in a sentence.
type Status struct {
	Level Level `json:"level"`
	// Text states the configuration the level comes from, with numbers,
	// e.g. "images signed by 1 registered key; boot key provisioned on
	// 120/120 devices".
	Text string `json:"text"`
	// Action, for Warn and Risk, says what would raise the level.
	Action string `json:"action,omitempty"`
}

// Threat is one threat of the model.
type Threat struct {
	// ID is stable: "S1", "T3", ... It names the threat in tests, test
	// ids and exports.
	ID string `json:"id"`
	// Category is the threat's STRIDE category.
	Category Category `json:"category"`
	// Title names the threat, e.g. "Cloned device identity".
	Title string `json:"title"`
	// Threat describes the attack against the device or its update path.
	Threat string `json:"threat"`
	// Mitigation is what trustforge provides against it.
	Mitigation string `json:"mitigation"`
	// check computes the live status from the facts.
	check func(f *view) Status
}

// Assessed is a threat with its live status.
type Assessed struct {
	Threat
	Status Status `json:"status"`
}

// Section is one STRIDE category of a plan.
type Section struct {
	Category Category   `json:"category"`
	Level    Level      `json:"level"` // the worst of its threats'
	Threats  []Assessed `json:"threats"`
}

// Plan is the security plan of one product: the model with live statuses.
type Plan struct {
	Product   string    `json:"product"`
	Generated time.Time `json:"generated"`
	// ProfileSource says where the provisioning profile the statuses use
	// came from: "console", "package", or "" when none is known.
	ProfileSource string    `json:"profile_source,omitempty"`
	Sections      []Section `json:"sections"`
}

// Count returns how many threats are at each level.
func (p *Plan) Count() map[Level]int {
	n := map[Level]int{}
	for _, s := range p.Sections {
		for _, t := range s.Threats {
			n[t.Status.Level]++
		}
	}
	return n
}

// Threat returns the assessed threat with the given ID.
func (p *Plan) Threat(id string) (Assessed, bool) {
	for _, s := range p.Sections {
		for _, t := range s.Threats {
			if t.ID == id {
				return t, true
			}
		}
	}
	return Assessed{}, false
}

// Evaluate computes the plan of f's product at time now: every threat of
// Threats with its status.
func Evaluate(f Facts, now time.Time) *Plan {
	v := newView(f, now)
	p := &Plan{Product: f.Product, Generated: now.UTC()}
	if v.profile != nil {
		p.ProfileSource = v.profile.Source
	}
	all := Threats()
	for _, c := range Categories() {
		s := Section{Category: c, Level: OK}
		for _, t := range all {
			if t.Category != c {
				continue
			}
			st := t.check(v)
			s.Threats = append(s.Threats, Assessed{Threat: t, Status: st})
			s.Level = Worst(s.Level, st.Level)
		}
		p.Sections = append(p.Sections, s)
	}
	return p
}

// view is Facts with the derived values the checks share.
type view struct {
	Facts
	now     time.Time
	srv     *ServerFacts
	profile *ProfileFacts
}

func newView(f Facts, now time.Time) *view {
	v := &view{Facts: f, now: now, srv: f.Server, profile: f.Profile}
	if v.profile == nil && v.srv != nil && v.srv.Production.Profile != nil {
		p := *v.srv.Production.Profile
		p.Source = "package"
		v.profile = &p
	} else if v.profile != nil && v.profile.Source == "" {
		p := *v.profile
		p.Source = "console"
		v.profile = &p
	}
	return v
}

// unknown is the status of a threat whose facts are missing.
func unknown(what string) Status {
	return Status{Level: Unknown, Text: what + " not known here", Action: "sign in with a role that reads the product's summary"}
}

func noProfile() Status {
	return Status{Level: Unknown, Text: "no provisioning profile in this browser or in a production package",
		Action: "open the Security plan in the console that holds the product's device CA, or build a production package"}
}

// ofN formats "n/total" with a noun, e.g. "3/4 devices".
func ofN(n, total int, noun string) string {
	return fmt.Sprintf("%d/%d %s", n, total, noun)
}

// plural returns "1 key" or "2 keys".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
