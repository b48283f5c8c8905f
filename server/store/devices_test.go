package store

import (
	"context"
	"errors"
	"testing"

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
