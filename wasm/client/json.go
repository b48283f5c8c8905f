package client

import (
	"bytes"
	"encoding/json"
)

func decodeJSON(b []byte, v any) error {
	return json.NewDecoder(bytes.NewReader(b)).Decode(v)
}
