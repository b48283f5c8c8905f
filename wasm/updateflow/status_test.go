package updateflow

import (
	"testing"

	"trustforge/devices/fwupdate"
)

func TestStatuses(t *testing.T) {
	all := func(r Result) map[Step]Result {
		m := map[Step]Result{}
		for _, s := range Steps() {
			m[s] = r
		}
		return m
	}
	tests := []struct {
		name    string
		results map[Step]Result
		outcome fwupdate.Outcome
		want    map[Step]Status
	}{
		{"not started", nil, "", map[Step]Status{StepVerify: StatusUpcoming, StepCheck: StatusUpcoming, StepUpload: StatusUpcoming,
			StepTestBoot: StatusUpcoming, StepRunning: StatusUpcoming, StepConfirm: StatusUpcoming}},
		{"uploading", map[Step]Result{StepVerify: Succeeded, StepCheck: Succeeded, StepUpload: Running}, "",
			map[Step]Status{StepVerify: StatusDone, StepCheck: StatusDone, StepUpload: StatusRunning,
				StepTestBoot: StatusUpcoming, StepRunning: StatusUpcoming, StepConfirm: StatusUpcoming}},
		{"refused at the check", map[Step]Result{StepVerify: Succeeded, StepCheck: Failed}, fwupdate.Refused,
			map[Step]Status{StepVerify: StatusDone, StepCheck: StatusFailed, StepUpload: StatusSkipped,
				StepTestBoot: StatusSkipped, StepRunning: StatusSkipped, StepConfirm: StatusSkipped}},
		{"refused at verification", map[Step]Result{StepVerify: Failed}, fwupdate.Refused,
			map[Step]Status{StepVerify: StatusFailed, StepCheck: StatusSkipped, StepUpload: StatusSkipped,
				StepTestBoot: StatusSkipped, StepRunning: StatusSkipped, StepConfirm: StatusSkipped}},
		{"failed at test boot", map[Step]Result{StepVerify: Succeeded, StepCheck: Succeeded, StepUpload: Succeeded, StepTestBoot: Failed},
			fwupdate.Failed, map[Step]Status{StepVerify: StatusDone, StepCheck: StatusDone, StepUpload: StatusDone,
				StepTestBoot: StatusFailed, StepRunning: StatusNotRun, StepConfirm: StatusNotRun}},
		{"cancelled mid-upload", map[Step]Result{StepVerify: Succeeded, StepCheck: Succeeded, StepUpload: Running},
			fwupdate.Cancelled, map[Step]Status{StepVerify: StatusDone, StepCheck: StatusDone, StepUpload: StatusFailed,
				StepTestBoot: StatusNotRun, StepRunning: StatusNotRun, StepConfirm: StatusNotRun}},
		{"updated", all(Succeeded), fwupdate.Updated, map[Step]Status{StepVerify: StatusDone, StepCheck: StatusDone,
			StepUpload: StatusDone, StepTestBoot: StatusDone, StepRunning: StatusDone, StepConfirm: StatusDone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Statuses(tt.results, tt.outcome)
			for _, s := range Steps() {
				if got[s] != tt.want[s] {
					t.Errorf("%s: got %s, want %s", s, got[s], tt.want[s])
				}
			}
		})
	}
}
