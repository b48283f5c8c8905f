package browser

// Dict returns a JavaScript dictionary of the members that are set, as the
// device APIs take their filters: a member left out matches anything. kv
// alternates names and values; a value that is 0 or "" is left out.
func Dict(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int:
			if v == 0 {
				continue
			}
		case string:
			if v == "" {
				continue
			}
		}
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}
