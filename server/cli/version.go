package cli

import (
	"context"
	"fmt"

	"trustforge/internal/version"
)

func runVersion(ctx context.Context, env Env, args []string) error {
	fmt.Fprintln(env.Stdout, "trustforge", version.Version)
	return nil
}
