package apiwire

import "strconv"

// Code is a stable, machine-readable error code of the API. A Code is an
// error, so errors.Is(err, CodeCSRF) reports whether err is, or wraps, an
// [*Error] with that code.
type Code string

func (c Code) Error() string { return "apiwire: error code " + string(c) }

// The error codes the server answers with. Clients branch on them with
// errors.Is; the message that goes with them is for people.
const (
	CodeAccountDisabled  Code = "account_disabled"
	CodeBadBody          Code = "bad_body"
	CodeBadBundle        Code = "bad_bundle"
	CodeBadChain         Code = "bad_chain"
	CodeBadContentType   Code = "bad_content_type"
	CodeBadCredentials   Code = "bad_credentials"
	CodeBadExpiry        Code = "bad_expiry"
	CodeBadField         Code = "bad_field"
	CodeBadJSON          Code = "bad_json"
	CodeBadPackage       Code = "bad_package"
	CodeBadRange         Code = "bad_range"
	CodeBadSignature     Code = "bad_signature"
	CodeBadToken         Code = "bad_token"
	CodeBodyTimeout      Code = "body_timeout"
	CodeBusy             Code = "busy"
	CodeChunkedBody      Code = "chunked_body"
	CodeCancelled        Code = "cancelled"
	CodeConflict         Code = "conflict"
	CodeCountReached     Code = "count_reached"
	CodeCounterRollback  Code = "counter_rollback"
	CodeCRLNotNewer      Code = "crl_not_newer"
	CodeCrossSite        Code = "cross_site"
	CodeCSRF             Code = "csrf"
	CodeDeviceRegistered Code = "device_registered"
	CodeEFuseRegressed   Code = "efuse_regressed"
	CodeEnrolmentInvalid Code = "enrolment_invalid"
	CodeExists           Code = "exists"
	CodeExpired          Code = "expired"
	CodeForbidden        Code = "forbidden"
	CodeInternal         Code = "internal"
	CodeNoEndpoint       Code = "no_endpoint"
	CodeNoTicket         Code = "no_ticket"
	CodeNoTrustAnchor    Code = "no_trust_anchor"
	CodeNotASession      Code = "not_a_session"
	CodeNotFound         Code = "not_found"
	CodeNotInOrder       Code = "not_in_order"
	CodeNotStation       Code = "not_station"
	CodeOrderClosed      Code = "order_closed"
	CodePayloadMismatch  Code = "payload_mismatch"
	CodePrivateKey       Code = "private_key"
	CodeRateLimited      Code = "rate_limited"
	CodeRecipientTaken   Code = "recipient_taken"
	CodeRequestReused    Code = "request_reused"
	CodeRevoked          Code = "revoked"
	CodeRootRegistered   Code = "root_registered"
	CodeSelfDemotion     Code = "self_demotion"
	CodeSelfDisable      Code = "self_disable"
	CodeTicketUsed       Code = "ticket_used"
	CodeTooLarge         Code = "too_large"
	CodeUnauthenticated  Code = "unauthenticated"
	CodeUnknownChannel   Code = "unknown_channel"
	CodeUnknownIssuer    Code = "unknown_issuer"
	CodeUnknownProduct   Code = "unknown_product"
	CodeUnknownRelease   Code = "unknown_release"
	CodeUnsupported      Code = "unsupported"
	CodeUntrustedCA      Code = "untrusted_ca"
	CodeUntrustedKey     Code = "untrusted_key"
	CodeVersionNotNewer  Code = "version_not_newer"
	CodeWrongDevice      Code = "wrong_device"
	CodeWrongImage       Code = "wrong_image"
	CodeWrongProduct     Code = "wrong_product"
	CodeWrongStation     Code = "wrong_station"
	CodeYanked           Code = "yanked"

	// CodeHTTP is set by the clients, never sent by the server: an error
	// status whose body was not an API error (a proxy's page, say).
	CodeHTTP Code = "http"
)

// Codes lists every code, for tests and documentation.
var Codes = []Code{
	CodeAccountDisabled, CodeBadBody, CodeBadBundle, CodeBadChain, CodeBadContentType, CodeBadCredentials,
	CodeBadExpiry, CodeBadField, CodeBadJSON, CodeBadPackage, CodeBadRange, CodeBadSignature, CodeBadToken,
	CodeBodyTimeout, CodeBusy, CodeChunkedBody, CodeCancelled, CodeConflict, CodeCountReached, CodeCounterRollback,
	CodeCRLNotNewer, CodeCrossSite, CodeCSRF, CodeDeviceRegistered, CodeEFuseRegressed, CodeEnrolmentInvalid, CodeExists,
	CodeExpired, CodeForbidden, CodeInternal, CodeNoEndpoint, CodeNoTicket, CodeNoTrustAnchor, CodeNotASession,
	CodeNotFound, CodeNotInOrder, CodeNotStation, CodeOrderClosed, CodePayloadMismatch, CodePrivateKey,
	CodeRateLimited, CodeRecipientTaken, CodeRequestReused, CodeRevoked, CodeRootRegistered, CodeSelfDemotion, CodeSelfDisable,
	CodeTicketUsed, CodeTooLarge, CodeUnauthenticated, CodeUnknownChannel, CodeUnknownIssuer,
	CodeUnknownProduct, CodeUnknownRelease, CodeUnsupported, CodeUntrustedCA, CodeUntrustedKey,
	CodeVersionNotNewer, CodeWrongDevice, CodeWrongImage, CodeWrongProduct, CodeWrongStation, CodeYanked, CodeHTTP,
}

// Error is an error answer of the API. On the wire it is the body
// {"error": {"code": "...", "message": "..."}}; Status is the HTTP status
// it came with. Message is written for people and is what the console
// shows.
type Error struct {
	Status  int    `json:"-"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// ErrorBody is the JSON body of an error answer.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Error returns the message with the status and code, for logs and the
// command line; the console shows Message alone.
func (e *Error) Error() string {
	status := strconv.Itoa(e.Status) + " " + string(e.Code)
	if e.Message == "" {
		return "server: HTTP " + status
	}
	return "server: " + e.Message + " (" + status + ")"
}

// Is reports whether target is e's [Code], so that errors.Is(err,
// CodeExists) finds an API error by its code.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}
