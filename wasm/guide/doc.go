// Package guide holds the console's guidance in words: what the signed-in
// account's roles let it do on each page and, where they do not, who can
// and how to get it done; what to do next when a list is empty; how strong
// a new password is; and the getting-started checklist, computed from the
// release server's and this browser's state.
//
// It is plain Go with no browser dependency, so every sentence is unit
// tested; the components in wasm/ui only render what it returns. The role
// table it explains is wasm/state's, itself checked against the server's.
package guide
