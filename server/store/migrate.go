package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"trustforge/crypto/audit"
)

// copyTables are the tables an embedded installation's database holds, in
// an order that satisfies their foreign keys. Rate-limit buckets are
// transient and not copied; secrets are carried by the caller, sealed.
var copyTables = []string{
	"meta", "users", "enrolment", "sessions", "tokens", "products", "device_roots", "channels", "keys",
	"releases", "release_recipients", "offers", "heads", "audit", "devices", "crls", "recipients",
	"production_packages", "production_package_stations", "production_tickets",
}

// CopyStats counts what CopyTo did.
type CopyStats struct {
	Rows    int // rows inserted
	Present int // rows the destination already held
}

// CopyTo copies every row of s into dst, table by table in one transaction,
// leaving rows dst already holds (same key) as they are, so that running
// it again changes nothing. Callers check the result, as trustforge
// migrate does: the audit chain of dst must verify and contain s's head.
func (s *SQLite) CopyTo(ctx context.Context, dst *Postgres) (CopyStats, error) {
	var st CopyStats
	err := dst.tx(ctx, audit.Event{}, func(t *sql.Tx) error {
		for _, table := range copyTables {
			n, present, err := s.copyTable(ctx, t, table)
			if err != nil {
				return err
			}
			st.Rows += n
			st.Present += present
		}
		return nil
	})
	return st, err
}

func (s *SQLite) copyTable(ctx context.Context, t *sql.Tx, table string) (inserted, present int, err error) {
	// The columns both schemas have, with their PostgreSQL types.
	have := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return 0, 0, fmt.Errorf("store: %s: %w", table, err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("store: %w", err)
		}
		have[c] = true
	}
	rows.Close()
	if len(have) == 0 {
		return 0, 0, nil // an older installation without this table
	}
	var cols, types []string
	prow, err := t.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table)
	if err != nil {
		return 0, 0, fmt.Errorf("store: %s: %w", table, err)
	}
	for prow.Next() {
		var c, typ string
		if err := prow.Scan(&c, &typ); err != nil {
			prow.Close()
			return 0, 0, fmt.Errorf("store: %w", err)
		}
		if have[c] {
			cols, types = append(cols, c), append(types, typ)
		}
	}
	prow.Close()
	for c := range have {
		found := false
		for _, k := range cols {
			found = found || k == c
		}
		if !found {
			return 0, 0, fmt.Errorf("store: column %s.%s has no place in the PostgreSQL schema: upgrade the server", table, c)
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	src, err := s.db.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+table)
	if err != nil {
		return 0, 0, fmt.Errorf("store: reading %s: %w", table, err)
	}
	defer src.Close()
	insert := `INSERT INTO ` + table + ` (` + strings.Join(quoted, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `) ON CONFLICT DO NOTHING`
	for src.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := src.Scan(ptrs...); err != nil {
			return 0, 0, fmt.Errorf("store: reading %s: %w", table, err)
		}
		for i, v := range vals {
			if vals[i], err = pgValue(v, types[i]); err != nil {
				return 0, 0, fmt.Errorf("store: %s.%s: %w", table, cols[i], err)
			}
		}
		res, err := t.ExecContext(ctx, insert, vals...)
		if err != nil {
			return 0, 0, fmt.Errorf("store: copying into %s: %w", table, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			inserted++
		} else {
			present++
		}
	}
	return inserted, present, src.Err()
}

// pgValue converts a value SQLite returned to the column type it goes into.
func pgValue(v any, typ string) (any, error) {
	switch typ {
	case "boolean":
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case bool:
			return x, nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return nonNil(x), nil
		case string:
			return []byte(x), nil
		}
	case "text":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case "bigint":
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case "double precision":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	}
	return nil, fmt.Errorf("cannot store %T as %s", v, typ)
}
