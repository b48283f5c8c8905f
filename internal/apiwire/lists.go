package apiwire

// The answers of the routes that list: each wraps its list in an object
// under a name of its own, so an answer can gain fields beside it.

// UserList is the answer to ListUsers, by name.
type UserList struct {
	Users []User `json:"users"`
}

// AdminList is the answer to ListAdmins: the names of the enabled
// administrators, for "ask NAME" notes.
type AdminList struct {
	Admins []string `json:"admins"`
}

// TokenList is the answer to ListTokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

// ProductList is the answer to ListProducts.
type ProductList struct {
	Products []Product `json:"products"`
}

// KeyList is the answer to ListKeys: a product's keys, revoked ones
// included.
type KeyList struct {
	Keys []Key `json:"keys"`
}

// RecipientList is the answer to Recipients.
type RecipientList struct {
	Recipients []Recipient `json:"recipients"`
}

// ReleaseList is the answer to ListReleases, newest upload first.
type ReleaseList struct {
	Releases []Release `json:"releases"`
}

// DeviceList is the answer to ListDevices.
type DeviceList struct {
	Devices []Device `json:"devices"`
}

// DeviceRootList is the answer to ListDeviceRoots.
type DeviceRootList struct {
	Roots []DeviceRoot `json:"roots"`
}
