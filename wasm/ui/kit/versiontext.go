package kit

import (
	"strings"

	"trustforge/devices/fwupdate"
)

// VersionText writes a version the one way the console shows versions:
// "1.2.3+4", the build number after a plus and left out when it is zero,
// whether it comes from a board's image list ("1.2.3.4") or a release
// ("1.2.3+4"). Anything else is shown as it came.
func VersionText(s string) string {
	if v, err := fwupdate.ParseBoardVersion(s); err == nil {
		return v.String()
	}
	return strings.TrimSuffix(s, "+0")
}
