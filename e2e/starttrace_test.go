package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// Figures of a console start that the machine's load changes little: how
// much the page's main thread ran and how many WebAssembly functions it
// had to compile before the first render, read from a Chromium trace; and
// the CPU time the browser and the server spent, read from /proc. Wall
// times on a shared two-core machine vary threefold with the load; these
// do not wait for a core.

// startTraceCategories are the trace categories startTrace needs: tasks
// with their thread times, user timing marks and V8's WebAssembly events.
var startTraceCategories = []string{"toplevel", "devtools.timeline", "blink.user_timing", "v8.wasm", "v8"}

// startFigures is what a traced navigation tells about the console's start.
type startFigures struct {
	// MainCPU is the main thread's CPU time from the page's first task to
	// the first render.
	MainCPU time.Duration
	// Compiled counts the WebAssembly functions compiled on first call
	// (lazily, on the main thread) before the first render.
	Compiled int
	// AllCPU is the CPU time every traced thread of the browser (the page's
	// main thread, V8's compile threads, the network service, the service
	// worker, the GPU process) spent from the navigation's first event
	// to the first render.
	AllCPU time.Duration
	// CacheHit reports whether V8 reused a module it had compiled before
	// (its in-process cache, or the code cache on disk).
	CacheHit bool
}

// traceEvent is one event of Chromium's JSON trace format.
type traceEvent struct {
	Name string                     `json:"name"`
	Ph   string                     `json:"ph"`
	Pid  int                        `json:"pid"`
	Tid  int                        `json:"tid"`
	Ts   int64                      `json:"ts"`
	Dur  int64                      `json:"dur"`
	Tdur int64                      `json:"tdur"`
	Args map[string]json.RawMessage `json:"args"`
}

// readyMark is the user timing mark the first-render probe sets.
const readyMark = "tf-first-render"

// traceStart runs nav (a navigation that waits for the first render) in
// the tab of ctx under a Chromium trace and reads the start's figures.
// With TRUSTFORGE_TRACE_DIR set, the trace is kept there as name.json for
// chrome://tracing or Perfetto.
func traceStart(ctx context.Context, name string, nav func() error) (startFigures, error) {
	events, err := traceRun(ctx, name, startTraceCategories, nav)
	if err != nil {
		return startFigures{}, err
	}
	return readStart(events)
}

// traceRun runs run in the tab of ctx under a Chromium trace of the given
// categories and returns the trace's events. With TRUSTFORGE_TRACE_DIR
// set, the trace is kept there as name.json.
func traceRun(ctx context.Context, name string, categories []string, run func() error) ([]traceEvent, error) {
	var (
		mu   sync.Mutex
		raw  []jsonv2.Value
		done = make(chan struct{})
	)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := chromedp.Listen(lctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			raw = append(raw, e.Value...)
			mu.Unlock()
		case *tracing.EventTracingComplete:
			close(done)
		}
	}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{
		TraceConfig:  &tracing.TraceConfig{IncludedCategories: categories},
		TransferMode: tracing.StartTransferModeReportEvents,
	}); err != nil {
		return nil, fmt.Errorf("starting the trace: %w", err)
	}
	runErr := run()
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		return nil, fmt.Errorf("ending the trace: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if runErr != nil {
		return nil, runErr
	}
	mu.Lock()
	defer mu.Unlock()
	events := make([]traceEvent, 0, len(raw))
	for _, r := range raw {
		var e traceEvent
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("reading the trace: %w", err)
		}
		events = append(events, e)
	}
	if dir := os.Getenv("TRUSTFORGE_TRACE_DIR"); dir != "" {
		b, err := json.Marshal(map[string]any{"traceEvents": raw})
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644)
		}
		if err != nil {
			return nil, err
		}
	}
	return events, nil
}

// pageTasks returns the tasks of the page's main thread (the renderer
// main thread that ran the most): its complete events not nested in
// another, in time order.
func pageTasks(events []traceEvent) []traceEvent {
	renderers := map[[2]int]bool{}
	for _, e := range events {
		if e.Ph == "M" && e.Name == "thread_name" && string(e.Args["name"]) == `"CrRendererMain"` {
			renderers[[2]int{e.Pid, e.Tid}] = true
		}
	}
	threads := map[[2]int][]traceEvent{}
	for _, e := range events {
		if k := [2]int{e.Pid, e.Tid}; renderers[k] && e.Ph == "X" {
			threads[k] = append(threads[k], e)
		}
	}
	var page []traceEvent
	var most time.Duration
	for _, t := range threads {
		if cpu := taskCPU(t); cpu > most {
			page, most = t, cpu
		}
	}
	var tasks []traceEvent
	var end int64
	for _, e := range page { // sorted by taskCPU
		if e.Ts >= end {
			tasks = append(tasks, e)
			end = e.Ts + e.Dur
		}
	}
	return tasks
}

// readStart reads a start's figures from its trace events.
func readStart(events []traceEvent) (startFigures, error) {
	var ready *traceEvent
	for i, e := range events {
		if e.Name == readyMark && (ready == nil || e.Ts < ready.Ts) {
			ready = &events[i]
		}
	}
	if ready == nil {
		return startFigures{}, fmt.Errorf("the trace has no %s mark", readyMark)
	}
	var f startFigures
	// The main thread's tasks: complete events not nested in another.
	var main []traceEvent
	for _, e := range events {
		if e.Pid != ready.Pid || e.Tid != ready.Tid || e.Ph != "X" || e.Ts > ready.Ts {
			continue
		}
		main = append(main, e)
		if e.Name == "wasm.CompileLazy" {
			f.Compiled++
		}
	}
	f.MainCPU = taskCPU(main)
	threads := map[[2]int][]traceEvent{}
	for _, e := range events {
		if e.Ph == "X" && e.Ts <= ready.Ts {
			k := [2]int{e.Pid, e.Tid}
			threads[k] = append(threads[k], e)
		}
	}
	for _, t := range threads {
		f.AllCPU += taskCPU(t)
	}
	for _, e := range events {
		if e.Pid == ready.Pid && (e.Name == "wasm.GetNativeModuleFromCache" || e.Name == "v8.wasm.moduleCacheHit") {
			f.CacheHit = true
		}
	}
	return f, nil
}

// taskCPU returns the thread time of one thread's complete events that
// are not nested in another.
func taskCPU(events []traceEvent) time.Duration {
	slices.SortFunc(events, func(a, b traceEvent) int {
		if a.Ts != b.Ts {
			return int(a.Ts - b.Ts)
		}
		return int(b.Dur - a.Dur)
	})
	var cpu time.Duration
	var end int64
	for _, e := range events {
		if e.Ts >= end {
			cpu += time.Duration(e.Tdur) * time.Microsecond
			end = e.Ts + e.Dur
		}
	}
	return cpu
}

// processCPU returns the CPU time (user and system) the processes this
// test started have used so far: the browser with its renderers, GPU,
// network and service worker processes, and the server.
func processCPU() (time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// The command name is in parentheses and may hold spaces.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		procs[pid] = proc{ppid: ppid, ticks: utime + stime}
	}
	self := os.Getpid()
	var ticks int64
	for pid, p := range procs {
		for q, seen := p.ppid, 0; q > 1 && seen < 64; q, seen = procs[q].ppid, seen+1 {
			if q == self {
				ticks += procs[pid].ticks
				break
			}
		}
	}
	// Linux reports in clock ticks of 100 Hz (USER_HZ) on every architecture Go supports here.
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// loadAverage returns the machine's one-minute load average.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return -1
	}
	return v
}
