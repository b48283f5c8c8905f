package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"trustforge/devices/serial"
	"trustforge/devices/smp"
)

func TestRunServesPTY(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--pty", "--baud", "0", "--slot-size", "0x20000"}, pw); pw.Close() }()
	var path, banner string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner += sc.Text() + "\n"
		if p, ok := strings.CutPrefix(sc.Text(), "boardsim: serial on "); ok {
			path = p
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if path == "" {
		t.Fatalf("no serial line in the banner:\n%s", banner)
	}
	if !strings.Contains(banner, "NO BOOT KEY PROVISIONED") || !strings.Contains(banner, "128 KiB slots") {
		t.Errorf("banner does not warn of the missing boot key or show the slot size:\n%s", banner)
	}
	port, err := serial.OpenPort(path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	c := smp.NewClient(smp.FromStream(port), &smp.Options{Timeout: 2 * time.Second})
	if s, err := c.Echo(ctx, "hello"); err != nil || s != "hello" {
		t.Errorf("echo = %q, %v", s, err)
	}
	c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}

func TestRunFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--pty", "extra"},
		{"--pty", "--boot-key", "/nonexistent.pem"},
		{"--pty", "--align", "3"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
