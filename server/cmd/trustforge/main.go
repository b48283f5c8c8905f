// Command trustforge is the trustforge server and command-line tool.
//
// It only wires: every subcommand lives in trustforge/server/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"trustforge/server/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
