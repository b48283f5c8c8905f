package releasebench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"trustforge/server/api"
)

// ServeChild is the body of a child process: it serves the release API on
// dataDir (mode "api") or serves dataDir/files with http.FileServer (mode
// "files"), prints "listening URL" (and the enrolment line) to out, and
// runs until ctx is done.
func ServeChild(ctx context.Context, mode, dataDir string, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	var h http.Handler
	switch mode {
	case "api":
		s, err := api.Open(ctx, api.Config{DataDir: dataDir, BaseURL: base, MaxUpload: 1 << 40, Log: out})
		if err != nil {
			return err
		}
		defer s.Close()
		h = s
	case "files":
		h = http.FileServer(http.Dir(dataDir))
	default:
		return fmt.Errorf("releasebench: unknown child mode %q", mode)
	}
	fmt.Fprintf(out, "listening %s\n", base)
	srv := &http.Server{Handler: h}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
