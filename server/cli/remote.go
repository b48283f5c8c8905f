package cli

import (
	"flag"
	"os"

	"trustforge/server/client"
)

// Environment variables the server-facing commands read when their flags
// are not given, so a token need not appear in a process listing.
const (
	serverEnv = "TRUSTFORGE_SERVER"
	tokenEnv  = "TRUSTFORGE_TOKEN"
)

// remoteFlags are the flags of every command that talks to a server.
type remoteFlags struct {
	server, token string
}

func (r *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.server, "server", "", "server `URL` (default $"+serverEnv+")")
	fs.StringVar(&r.token, "token", "", "API `token` (default $"+tokenEnv+")")
}

// client returns a client for the flags, falling back to the environment.
func (r *remoteFlags) client() (*client.Client, error) {
	if r.server == "" {
		r.server = os.Getenv(serverEnv)
	}
	if r.token == "" {
		r.token = os.Getenv(tokenEnv)
	}
	if r.server == "" {
		return nil, usageErrorf("no server: pass --server URL or set $%s", serverEnv)
	}
	if r.token == "" {
		return nil, usageErrorf("no API token: pass --token or set $%s", tokenEnv)
	}
	return &client.Client{BaseURL: r.server, Token: r.token}, nil
}
