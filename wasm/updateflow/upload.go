package updateflow

import (
	"context"
	"errors"

	"trustforge/devices/fwupdate"
	"trustforge/devices/smp"
)

// maxStalls bounds upload attempts in a row that make no progress while
// the board stays connected.
const maxStalls = 3

// Upload writes img into the board's upload slot for image number image,
// reporting progress through onEvent (StepUpload events). When the link
// breaks (an unplug) it reports Unplugged, waits for the board to come
// back and goes on from the board's offset. It returns the last run's
// result and how many times it resumed.
func Upload(ctx context.Context, board Board, img []byte, image int, onEvent func(Event)) (*smp.UploadResult, int, error) {
	emit := func(e Event) {
		if onEvent != nil {
			onEvent(e)
		}
	}
	resumed, stalls := 0, 0
	c, err := board.Client()
	if err != nil {
		return nil, 0, err
	}
	for {
		res, err := fwupdate.Upload(ctx, c, img, image, func(p smp.UploadProgress) {
			emit(Event{Step: StepUpload, Upload: &p})
		})
		if err == nil {
			return res, resumed, nil
		}
		var se *smp.Error
		var ref *fwupdate.Refusal
		switch {
		case ctx.Err() != nil:
			return res, resumed, ctx.Err()
		case errors.As(err, &se), errors.As(err, &ref), errors.Is(err, smp.ErrUploadMismatch):
			return res, resumed, err
		case errors.Is(err, smp.ErrTimeout):
			// The board went silent but the link holds: try again, as
			// often as it keeps making no progress.
			if stalls++; stalls > maxStalls {
				return res, resumed, err
			}
			continue
		}
		// The link broke (an unplug): wait for the board and go on from
		// its offset.
		emit(Event{Step: StepUpload, Unplugged: true, Detail: "the board went away: plug it back in and the upload resumes"})
		if c, err = board.Next(ctx, c); err != nil {
			return res, resumed, err
		}
		emit(Event{Step: StepUpload, Detail: "the board is back: resuming from its offset"})
		resumed++
		stalls = 0
	}
}
