package updateflow

import "trustforge/devices/fwupdate"

// Result is what is known of one step while the flow runs.
type Result int

// Results of a step.
const (
	NotStarted Result = iota
	Running
	Succeeded
	Failed
)

// Status is how a step stands for the technician's stepper.
type Status string

// Statuses of a step. A step the flow did not reach is skipped when the
// console decided not to run it (a refusal: nothing was written to the
// board), and not run when the flow stopped on a failure or a cancel.
const (
	StatusUpcoming Status = "upcoming" // the flow has not got there yet
	StatusRunning  Status = "running"
	StatusDone     Status = "done"
	StatusFailed   Status = "failed"
	StatusSkipped  Status = "skipped"
	StatusNotRun   Status = "not-run"
)

// Statuses says how each step of Steps stands, given the results so far
// and, once the flow has ended, its outcome ("" while it runs). A step
// that did not succeed is never shown done: a refused update shows its
// checks done or failed and the steps that change the board skipped.
func Statuses(results map[Step]Result, outcome fwupdate.Outcome) map[Step]Status {
	out := make(map[Step]Status, len(Steps()))
	for _, s := range Steps() {
		switch results[s] {
		case Succeeded:
			out[s] = StatusDone
		case Failed:
			out[s] = StatusFailed
		case Running:
			if outcome == "" {
				out[s] = StatusRunning
			} else {
				out[s] = StatusFailed // it never reported its end
			}
		default:
			switch outcome {
			case "":
				out[s] = StatusUpcoming
			case fwupdate.Refused:
				out[s] = StatusSkipped
			case fwupdate.Updated:
				// An update is only "updated" when every step ran; a
				// step with no result then was not needed.
				out[s] = StatusSkipped
			default:
				out[s] = StatusNotRun
			}
		}
	}
	return out
}
