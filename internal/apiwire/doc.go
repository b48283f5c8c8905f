// Package apiwire is the contract between the trustforge release server
// (server/api) and its two clients (server/client for the CLI and
// automation, wasm/client for the console): the routes and the permission
// each needs ([Routes]), the roles and their policy ([Allowed]), the
// stable error codes ([Code]) with the error answer that carries them
// ([Error]), and the JSON bodies ([Release], [Device], [Package],
// [TicketRequest], [UserList], …).
//
// It is declared once so that the server and the clients cannot drift: a
// route, code, role or body exists here or nowhere. contract_test.go fails
// when the server's router or a client's source holds a route, code or
// role that is not here, bodies_test.go when a JSON body is declared, or
// written as a map, on one side only. The package is plain Go: it imports neither net/http nor
// syscall/js, builds for js/wasm, and adds little to the console's
// WebAssembly. Each client keeps its own transport.
package apiwire
