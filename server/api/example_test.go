package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"trustforge/server/api"
)

// Example mounts the release API at /api/ of a server, as trustforge serve
// does, and asks it who is calling.
func Example() {
	dir, _ := os.MkdirTemp("", "trustforge-example-*")
	defer os.RemoveAll(dir)

	releases, err := api.Open(context.Background(), api.Config{DataDir: dir, BaseURL: "https://releases.example.com", Log: io.Discard})
	if err != nil {
		panic(err)
	}
	defer releases.Close()
	mux := http.NewServeMux()
	mux.Handle("/api/", releases) // no StripPrefix: the API routes on full paths

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/session", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 401 {"error":{"code":"unauthenticated","message":"sign in or present an API token"}}
}
