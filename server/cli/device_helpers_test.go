package cli

import (
	"encoding/hex"
	"time"

	"trustforge/devices/smp"
)

func hexBytes(b []byte) []byte { return []byte(hex.EncodeToString(b)) }

func smpProgress(off, total int64, rate float64) smp.UploadProgress {
	return smp.UploadProgress{Offset: off, Total: total, Rate: rate, ETA: time.Duration(float64(total-off) / rate * float64(time.Second))}
}
