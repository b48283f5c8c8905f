package cli

import (
	"context"
	"errors"
)

func runServe(ctx context.Context, env Env, args []string) error {
	return errors.New("serve: being wired in this change")
}
