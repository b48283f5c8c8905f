// Command stackprog exercises what a Go program needs of its PC/line table
// (stack growth, the garbage collector's frame scans, panics, recover,
// goroutines, stack traces, calls through reflect.MakeFunc, reflect's panic
// messages, counting goroutines) for TestStripLinesRunsGo and
// TestStripNamesRunsGo, and prints what it saw; every place it prints
// follows " at ".
package main

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// viaMakeFunc calls deep through a function reflect.MakeFunc made, so the
// stack grows and the garbage collector runs under reflect.makeFuncStub,
// whose stack map the runtime finds by its name.
func viaMakeFunc(n int, p *int) int {
	var f func(int, *int) int
	fv := reflect.MakeFunc(reflect.TypeOf(f), func(args []reflect.Value) []reflect.Value {
		runtime.GC()
		return []reflect.Value{reflect.ValueOf(deep(int(args[0].Int()), args[1].Interface().(*int)))}
	})
	reflect.ValueOf(&f).Elem().Set(fv)
	return f(n, p)
}

// reflectPanic returns the message of reflect's panic about a zero Value,
// which names the method from the caller's frame.
func reflectPanic() (msg string) {
	defer func() { msg = fmt.Sprint(recover()) }()
	reflect.Value{}.Len()
	return ""
}

// printTrace prints the current goroutine's stack trace, each frame's
// function without its arguments and its place after " at ".
func printTrace() {
	buf := make([]byte, 1<<16)
	lines := strings.Split(string(buf[:runtime.Stack(buf, false)]), "\n")
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "\t"):
			place, off, _ := strings.Cut(strings.TrimSpace(line), " ")
			fmt.Printf("trace %s at %s\n", off, place)
		case line != "":
			name, _, _ := strings.Cut(line, "(")
			fmt.Printf("trace %s\n", name)
		}
	}
}

func panicking() {
	defer func() {
		recover()
	}()
	defer printTrace()
	var p *int
	_ = *p
}

// deep recurses with a frame of pointers and bytes, so the stack grows and
// is copied many times.
func deep(n int, p *int) int {
	var buf [64]byte
	buf[n%64] = byte(n)
	if n == 0 {
		return *p + int(buf[0])
	}
	if n%1000 == 0 {
		runtime.GC()
	}
	return deep(n-1, p) + int(buf[n%64])
}

func recovered(i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered: %v", r)
		}
	}()
	var m map[string]int
	if i%2 == 0 {
		m["x"] = 1
	}
	var p *int
	if i%3 == 0 {
		return fmt.Errorf("%d", *p)
	}
	return nil
}

func main() {
	_, file, line, ok := runtime.Caller(0)
	fmt.Printf("caller %v at %s:%d\n", ok, file, line)
	one := 1
	fmt.Println("deep:", deep(20000, &one))
	var keep [][]byte
	for i := 0; i < 600; i++ {
		keep = append(keep, make([]byte, 1<<14))
		if len(keep) > 50 {
			keep = keep[1:]
		}
		if i%100 == 0 {
			fmt.Println(i, recovered(i), recovered(i+1), recovered(i+3))
		}
	}
	done := make(chan int)
	for i := 0; i < 4; i++ {
		go func() { done <- deep(5000+i, &one) }()
	}
	sum := 0
	for i := 0; i < 4; i++ {
		sum += <-done
	}
	fmt.Println("goroutines:", sum)
	fmt.Println("through MakeFunc:", viaMakeFunc(3000, &one))
	fmt.Println("reflect:", reflectPanic())
	block := make(chan int)
	for i := 0; i < 3; i++ {
		go func() { <-block }()
	}
	runtime.Gosched()
	fmt.Println("goroutines running:", runtime.NumGoroutine())
	close(block)
	panicking()
	pcs := make([]uintptr, 16)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	for {
		f, more := frames.Next()
		fmt.Printf("frame %s at %s:%d\n", f.Function, f.File, f.Line)
		if !more {
			break
		}
	}
}
