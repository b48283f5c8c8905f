package cli

import (
	"context"

	"trustforge/server/console"
)

func runPrecompress(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "precompress", "precompress FILE...")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf("name the files to compress (web/app.wasm)")
	}
	for _, p := range fs.Args() {
		if err := console.Precompress(p, env.Stderr); err != nil {
			return err
		}
	}
	return nil
}
