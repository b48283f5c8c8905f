// Command stackprog exercises what a Go program needs of its PC/line table
// (stack growth, the garbage collector's frame scans, panics, recover,
// goroutines, stack traces) for TestStripLinesRunsGo, and prints what it
// saw; every place it prints follows " at ".
package main

import (
	"fmt"
	"runtime"
)

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
