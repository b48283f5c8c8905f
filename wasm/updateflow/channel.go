package updateflow

import (
	"trustforge/crypto/mcuimg"
	"trustforge/wasm/client"
)

// DefaultChannel is the channel a technician is first shown for a product:
// the one offering the newest release (by version, then by upload time), so
// that a release just published to beta is not hidden behind stable. Of
// channels offering that release, the first of the product's channels
// wins. Without any release offered it is "": every channel.
func DefaultChannel(channels []string, releases []client.Release) string {
	var newest *client.Release
	var newestV mcuimg.Version
	for i := range releases {
		r := &releases[i]
		if r.Yanked != nil || len(r.Offers) == 0 {
			continue
		}
		v, err := mcuimg.ParseVersion(r.Version)
		if err != nil {
			continue
		}
		if newest == nil || v.Compare(newestV) > 0 || (v.Compare(newestV) == 0 && r.Uploaded.After(newest.Uploaded)) {
			newest, newestV = r, v
		}
	}
	if newest == nil {
		return ""
	}
	for _, c := range channels {
		if newest.OfferedOn(c) {
			return c
		}
	}
	return newest.Offers[0].Channel
}
