package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"trustforge/crypto/audit"
)

func auditCount(t *testing.T, s *SQLite) int {
	t.Helper()
	n := 0
	if err := s.AuditEntries(context.Background(), 0, func(audit.Entry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func testDeviceRegistry(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.CreateProduct(ctx, Product{Name: "thermo", Channels: []string{}, Created: t0}, ev("product.create", "thermo")); err != nil {
		t.Fatal(err)
	}
	d := Device{ID: "0a0b", Product: "thermo", Model: "sim", Rev: "A", Serial: "01", Issuer: "aa", Subject: "CN=thermo-0a0b",
		Chain: []byte{1, 2, 3}, Root: "rr", Provisioned: t0, Operator: "line1"}
	if err := s.RegisterDevice(ctx, d, ev("device.register", d.ID)); err != nil {
		t.Fatal(err)
	}
	before := auditCount(t, s)
	tests := []struct {
		name string
		d    Device
		want error
	}{
		{"same device id (a clone)", Device{ID: "0a0b", Product: "thermo", Serial: "02", Issuer: "aa", Chain: []byte{1}}, ErrExists},
		{"same certificate, another id", Device{ID: "0c0d", Product: "thermo", Serial: "01", Issuer: "aa", Chain: []byte{1}}, ErrExists},
		{"unknown product", Device{ID: "0e0f", Product: "doorbell", Serial: "03", Issuer: "aa", Chain: []byte{1}}, ErrNotFound},
	}
	for _, tt := range tests {
		if err := s.RegisterDevice(ctx, tt.d, ev("device.register", tt.d.ID)); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if got := auditCount(t, s); got != before {
		t.Errorf("refused registrations appended %d audit entries", got-before)
	}
	d2 := d
	d2.ID, d2.Serial, d2.Model, d2.Provisioned = "ff01", "02", "Sensor Board", t0.Add(1)
	d2.EncryptionKey = []byte("-----BEGIN PUBLIC KEY-----")
	if err := s.RegisterDevice(ctx, d2, ev("device.register", d2.ID)); err != nil {
		t.Fatal(err)
	}
	st, err := s.DeviceStats(ctx, "thermo")
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 2 || st.Revoked != 0 || st.WithEncryptionKey != 1 || st.Roots != 1 || len(st.BootKeys) != 0 || len(st.Issuers) != 1 || st.Issuers[0] != "aa" {
		t.Errorf("DeviceStats = %+v, want 2 devices, 1 with an encryption key, 1 root, issuer aa", st)
	}
	if st, err := s.DeviceStats(ctx, "doorbell"); err != nil || st.Total != 0 {
		t.Errorf("DeviceStats of a product without devices = %+v, %v", st, err)
	}
	for _, tt := range []struct {
		f    DeviceFilter
		want []string
	}{
		{DeviceFilter{}, []string{"ff01", "0a0b"}},
		{DeviceFilter{Query: "ff"}, []string{"ff01"}},
		{DeviceFilter{Query: "SENSOR"}, []string{"ff01"}},
		{DeviceFilter{Query: "%"}, nil},
		{DeviceFilter{Product: "doorbell"}, nil},
		{DeviceFilter{Limit: 1}, []string{"ff01"}},
	} {
		got, err := s.ListDevices(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range got {
			ids = append(ids, x.ID)
		}
		if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) {
			t.Errorf("ListDevices(%+v) = %v, want %v", tt.f, ids, tt.want)
		}
	}
	if got, _ := s.Device(ctx, "ff01"); string(got.EncryptionKey) != string(d2.EncryptionKey) {
		t.Errorf("encryption key %q", got.EncryptionKey)
	}
	if got, _ := s.Device(ctx, "0a0b"); got.EncryptionKey != nil {
		t.Errorf("a device without encryption key has %q", got.EncryptionKey)
	}
	if root, _ := s.ProductRoot(ctx, "thermo"); root != "rr" {
		t.Errorf("ProductRoot = %q", root)
	}
	if err := s.RevokeDevice(ctx, "0a0b", t0, "alice", "keyCompromise", ev("device.revoke", "0a0b")); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeDevice(ctx, "0a0b", t0, "alice", "again", ev("device.revoke", "0a0b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
	if got, _ := s.ListDevices(ctx, DeviceFilter{}); len(got) != 1 {
		t.Errorf("revoked device listed without WithRevoked")
	}
	if got, _ := s.Device(ctx, "0a0b"); !got.IsRevoked() || got.RevokedBy != "alice" {
		t.Errorf("revoked device: %+v", got)
	}

	c := CRL{Issuer: "aa", Number: "9", DER: []byte{1}, Uploaded: t0, UploadedBy: "alice"}
	if err := s.PutCRL(ctx, c, ev("crl.publish", "aa")); err != nil {
		t.Fatal(err)
	}
	c.Number = "9"
	if err := s.PutCRL(ctx, c, ev("crl.publish", "aa")); !errors.Is(err, ErrConflict) {
		t.Errorf("same CRL number: %v, want ErrConflict", err)
	}
	c.Number = "10"
	if err := s.PutCRL(ctx, c, ev("crl.publish", "aa")); err != nil {
		t.Errorf("higher CRL number: %v", err)
	}
	if got, err := s.CRL(ctx, "aa"); err != nil || got.Number != "10" {
		t.Errorf("CRL = %+v, %v", got, err)
	}
}

// An ESP32 board is recorded by its MAC and eFuse state, with no
// certificate: two such boards coexist, later records update it after the
// check accepts, a refusal changes nothing, and a search finds it by MAC.
func testESP32Registry(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.CreateProduct(ctx, Product{Name: "lamp", Channels: []string{}, Created: t0}, ev("product.create", "lamp")); err != nil {
		t.Fatal(err)
	}
	blank := []byte(`{"secure_boot":false,"flash_crypt_cnt":0}`)
	a := Device{ID: "58cf79000001", Product: "lamp", Model: "ESP32-C3", Rev: "v0.4", MAC: "58:cf:79:00:00:01",
		EFuses: blank, EFusesUpdated: t0, Provisioned: t0, Operator: "alice"}
	b := a
	b.ID, b.MAC, b.Provisioned = "58cf79000002", "58:cf:79:00:00:02", t0.Add(time.Second)
	for _, d := range []Device{a, b} {
		created, err := s.RecordEFuses(ctx, d, nil, ev("device.efuses", d.ID))
		if err != nil || !created {
			t.Fatalf("RecordEFuses(%s) = %v, %v; want created", d.ID, created, err)
		}
	}
	// A certificate-bearing board still registers beside them.
	c := Device{ID: "0a0b", Product: "lamp", Serial: "01", Issuer: "aa", Subject: "CN=lamp-0a0b", Chain: []byte{1}, Root: "rr",
		Provisioned: t0.Add(2 * time.Second), Operator: "alice"}
	if err := s.RegisterDevice(ctx, c, ev("device.register", c.ID)); err != nil {
		t.Fatal(err)
	}
	if root, _ := s.ProductRoot(ctx, "lamp"); root != "rr" {
		t.Errorf("ProductRoot = %q, want the certified board's root, not an ESP32 board's none", root)
	}
	if _, err := s.IssuerChain(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("IssuerChain(\"\") = %v, want ErrNotFound: boards without certificates have no chain", err)
	}

	got, err := s.Device(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.MAC != a.MAC || string(got.EFuses) != string(blank) || !got.EFusesUpdated.Equal(t0) || got.HasCertificate() || got.Chain != nil {
		t.Errorf("recorded %+v", got)
	}

	burned := []byte(`{"secure_boot":true,"flash_crypt_cnt":1}`)
	refuse := errors.New("refused")
	before := auditCount(t, s)
	up := a
	up.EFuses, up.EFusesUpdated, up.Rev = burned, t0.Add(time.Hour), "v0.4"
	if _, err := s.RecordEFuses(ctx, up, func(Device) error { return refuse }, ev("device.efuses", a.ID)); !errors.Is(err, refuse) {
		t.Errorf("refused update: %v", err)
	}
	if n := auditCount(t, s); n != before {
		t.Errorf("a refused update appended %d audit entries", n-before)
	}
	if got, _ := s.Device(ctx, a.ID); string(got.EFuses) != string(blank) {
		t.Errorf("a refused update changed the eFuses to %s", got.EFuses)
	}
	var seen Device
	created, err := s.RecordEFuses(ctx, up, func(p Device) error { seen = p; return nil }, ev("device.efuses", a.ID))
	if err != nil || created {
		t.Fatalf("update = %v, %v; want an update", created, err)
	}
	if string(seen.EFuses) != string(blank) {
		t.Errorf("check saw %s, want the prior state", seen.EFuses)
	}
	got, _ = s.Device(ctx, a.ID)
	if string(got.EFuses) != string(burned) || !got.EFusesUpdated.Equal(t0.Add(time.Hour)) || !got.Provisioned.Equal(t0) || got.Operator != "alice" {
		t.Errorf("after the update: %+v", got)
	}
	if _, err := s.RecordEFuses(ctx, Device{ID: "58cf79000003", Product: "nope", MAC: "58:cf:79:00:00:03"}, nil,
		ev("device.efuses", "58cf79000003")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown product: %v, want ErrNotFound", err)
	}

	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"58:CF:79:00:00:02", []string{"58cf79000002"}},
		{"00:00:01", []string{"58cf79000001"}},
		{"58cf79", []string{"58cf79000002", "58cf79000001"}},
		{"esp32-c3", []string{"58cf79000002", "58cf79000001"}},
		{"_", nil},
	} {
		ds, err := s.ListDevices(ctx, DeviceFilter{Query: tt.q})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
			t.Errorf("ListDevices(%q) = %v, want %v", tt.q, ids, tt.want)
		}
	}
}

// A database made by a version before the migrations opens with its
// devices kept and the new columns empty, and opens again unchanged.
func TestSQLiteMigratesOldDevices(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, schema+deviceSchema+deviceRootSchema+recipientSchema+productionSchema+sharedSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO products (name, description, created) VALUES ('thermo', '', 1);
		INSERT INTO devices (id, product, model, rev, serial, issuer, subject, chain, root, enc_key, enc_fingerprint, boot_key_hash, provisioned, operator)
		VALUES ('0a0b', 'thermo', 'sim', 'A', '01', 'aa', 'CN=x', x'01', 'rr', x'', '', '', 5, 'alice');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for range 2 {
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Device(ctx, "0a0b")
		if err != nil || d.Serial != "01" || d.MAC != "" || d.EFuses != nil || !d.HasCertificate() {
			t.Errorf("old device after migration: %+v, %v", d, err)
		}
		var v int
		if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil || v != len(sqliteMigrations) {
			t.Errorf("user_version = %d, %v; want %d", v, err, len(sqliteMigrations))
		}
		s.Close()
	}
}
