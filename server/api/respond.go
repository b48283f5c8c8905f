package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

// Error is an API error as the server makes it: an HTTP status, a stable
// machine-readable code and a human-readable message. It is written as
// the contract's apiwire.ErrorBody: {"error": {"code": "...", "message": "..."}}.
type Error struct {
	Status     int
	RetryAfter int // seconds; sets Retry-After when not zero
	Code       apiwire.Code
	Message    string
}

func (e *Error) Error() string { return "api: " + e.Message }

func errorf(status int, code apiwire.Code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// asError maps an error from the store, the bundle package or the request
// body to the Error the client sees.
func asError(err error) *Error {
	var e *Error
	var tooBig *http.MaxBytesError
	var body *bodyError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &body) && errors.Is(err, os.ErrDeadlineExceeded):
		return errorf(http.StatusRequestTimeout, apiwire.CodeBodyTimeout, "the request body stopped arriving")
	case errors.As(err, &body):
		return errorf(http.StatusBadRequest, apiwire.CodeBadBody, "the request body ended before its Content-Length or broke off")
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, apiwire.CodeTooLarge, "request body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, apiwire.CodeNotFound, "%s", trim(err))
	case errors.Is(err, store.ErrExists):
		return errorf(http.StatusConflict, apiwire.CodeExists, "%s", trim(err))
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, apiwire.CodeConflict, "%s", trim(err))
	case errors.Is(err, bundle.ErrUntrustedKey):
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUntrustedKey, "%s", err)
	case errors.Is(err, bundle.ErrBadSignature):
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeBadSignature, "%s", err)
	case errors.Is(err, bundle.ErrPayloadMismatch):
		return errorf(http.StatusUnprocessableEntity, apiwire.CodePayloadMismatch, "%s", err)
	case errors.Is(err, bundle.ErrNotBundle), errors.Is(err, bundle.ErrTruncated),
		errors.Is(err, bundle.ErrMalformed), errors.Is(err, bundle.ErrTooLarge):
		return errorf(http.StatusBadRequest, apiwire.CodeBadBundle, "%s", err)
	case errors.Is(err, bundle.ErrUnsupported):
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnsupported, "%s", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusServiceUnavailable, apiwire.CodeCancelled, "request cancelled")
	}
	return nil
}

// trim drops the "store: " style package prefix from a message for clients.
func trim(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i >= 0 && i < 12 {
		return s[i+2:]
	}
	return s
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e == nil {
		fmt.Fprintf(s.cfg.Log, "trustforge: %s %s from %s: %v\n", r.Method, r.URL.Path, clientAddr(r), err)
		e = errorf(http.StatusInternalServerError, apiwire.CodeInternal, "internal server error")
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trustforge"`)
	}
	writeJSON(w, e.Status, apiwire.ErrorBody{Error: &apiwire.Error{Status: e.Status, Code: e.Code, Message: e.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"`+string(apiwire.CodeInternal)+`","message":"encoding response"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// validator is a request body that checks its own fields.
type validator interface{ validate() error }

// decodeJSON reads a JSON request body into dst strictly: the media type
// must be application/json, the body at most max bytes, one object with no
// unknown fields, and dst's validate must pass.
func decodeJSON(r *http.Request, max int64, dst validator) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, apiwire.CodeBadContentType, "request body must be application/json")
	}
	return decodeBody(io.LimitReader(r.Body, max+1), max, dst)
}

func decodeBody(r io.Reader, max int64, dst validator) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return errorf(http.StatusBadRequest, apiwire.CodeBadBody, "reading request body: %v", err)
	}
	if int64(len(b)) > max {
		return errorf(http.StatusRequestEntityTooLarge, apiwire.CodeTooLarge, "request body is larger than %d bytes", max)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errorf(http.StatusBadRequest, apiwire.CodeBadJSON, "request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, apiwire.CodeBadJSON, "request body: data after the JSON object")
	}
	return dst.validate()
}
