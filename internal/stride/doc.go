// Package stride is the security plan a product team follows with
// trustforge: a STRIDE threat model of an IoT product and its update path
// (Spoofing, Tampering, Repudiation, Information disclosure, Denial of
// service, Elevation of privilege), each threat paired with the mitigation
// trustforge provides and a live status computed from the product's actual
// configuration.
//
// The model is data (Threats) and the status of each threat is a pure
// function of Facts: what the release server knows of the product (its
// signing keys, releases, registered devices, production orders, accounts,
// audit log) and what the engineer's console knows (the provisioning
// profile held with the device CA). Nothing here does I/O: the console
// gathers the facts (the server's product summary endpoint and the local
// profile), calls Evaluate, renders the Plan and exports it with Markdown.
//
// A status is computed, never asserted: a threat whose mitigation depends
// on configuration that is missing or switched off is reported as a
// warning or a risk, with the numbers that show it (for example "boot key
// provisioned on 118/120 devices"). A threat whose facts are not known
// (no summary from the server, no profile in this browser) is reported as
// Unknown, not as fine.
//
// The package is plain Go with no dependencies beyond the standard
// library, so it runs natively in tests and in the console (GOOS=js).
package stride
