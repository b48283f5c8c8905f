package smp

import (
	"errors"
	"fmt"

	"trustforge/internal/usererr"
)

// RC is an SMP status code of the kind version 1 answers carry in "rc"
// (Zephyr's mcumgr_err_t). Version 2 answers use it too for errors of the
// protocol itself rather than of a command group.
type RC int

// Status codes.
const (
	RCOK             RC = 0
	RCUnknown        RC = 1
	RCNoMemory       RC = 2
	RCInvalid        RC = 3
	RCTimeout        RC = 4
	RCNoEntry        RC = 5
	RCBadState       RC = 6
	RCMsgSize        RC = 7
	RCNotSupported   RC = 8
	RCCorrupt        RC = 9
	RCBusy           RC = 10
	RCAccessDenied   RC = 11
	RCProtocolTooOld RC = 12
	RCProtocolTooNew RC = 13
	RCPerUser        RC = 256
)

// Image group error codes (SMP version 2 "err" codes of GroupImage).
const (
	ImageErrUnknown             = 1
	ImageErrFlashConfigQuery    = 2
	ImageErrNoImage             = 3
	ImageErrNoTLVs              = 4
	ImageErrInvalidTLV          = 5
	ImageErrMultipleHashes      = 6
	ImageErrTLVInvalidSize      = 7
	ImageErrHashNotFound        = 8
	ImageErrNoFreeSlot          = 9
	ImageErrFlashOpen           = 10
	ImageErrFlashRead           = 11
	ImageErrFlashWrite          = 12
	ImageErrFlashErase          = 13
	ImageErrInvalidSlot         = 14
	ImageErrNoFreeMemory        = 15
	ImageErrFlashContextSet     = 16
	ImageErrFlashContextNotSet  = 17
	ImageErrFlashAreaNull       = 18
	ImageErrInvalidPageOffset   = 19
	ImageErrInvalidOffset       = 20
	ImageErrInvalidLength       = 21
	ImageErrInvalidHeader       = 22
	ImageErrInvalidHeaderMagic  = 23
	ImageErrInvalidHash         = 24
	ImageErrInvalidFlashAddress = 25
	ImageErrVersionGet          = 26
	ImageErrCurrentVersionNewer = 27
	ImageErrAlreadyPending      = 28
	ImageErrInvalidVectorTable  = 29
	ImageErrTooLarge            = 30
	ImageErrDataOverrun         = 31
	ImageErrConfirmationDenied  = 32
	ImageErrTestToActiveDenied  = 33
	ImageErrActiveSlotNotKnown  = 34
)

// OS group error codes (SMP version 2 "err" codes of GroupOS).
const (
	OSErrUnknown         = 1
	OSErrInvalidFormat   = 2
	OSErrNoAnswer        = 3
	OSErrRTCNotSet       = 4
	OSErrRTCCommand      = 5
	OSErrQueryValueValid = 6
)

type codeText struct{ name, text string }

var rcTexts = [...]codeText{
	RCOK:             {"MGMT_ERR_EOK", "success"},
	RCUnknown:        {"MGMT_ERR_EUNKNOWN", "unknown error"},
	RCNoMemory:       {"MGMT_ERR_ENOMEM", "the board ran out of memory"},
	RCInvalid:        {"MGMT_ERR_EINVAL", "the board rejected a value in the request"},
	RCTimeout:        {"MGMT_ERR_ETIMEOUT", "the operation timed out on the board"},
	RCNoEntry:        {"MGMT_ERR_ENOENT", "no such entry"},
	RCBadState:       {"MGMT_ERR_EBADSTATE", "the board's current state does not allow this"},
	RCMsgSize:        {"MGMT_ERR_EMSGSIZE", "the answer does not fit the board's buffer"},
	RCNotSupported:   {"MGMT_ERR_ENOTSUP", "the board does not support this command"},
	RCCorrupt:        {"MGMT_ERR_ECORRUPT", "corrupt data"},
	RCBusy:           {"MGMT_ERR_EBUSY", "the board is busy with another command"},
	RCAccessDenied:   {"MGMT_ERR_EACCESSDENIED", "access denied"},
	RCProtocolTooOld: {"MGMT_ERR_UNSUPPORTED_TOO_OLD", "the board does not support this old SMP version"},
	RCProtocolTooNew: {"MGMT_ERR_UNSUPPORTED_TOO_NEW", "the board does not support this new SMP version"},
}

var imageTexts = [...]codeText{
	ImageErrUnknown:             {"IMG_MGMT_ERR_UNKNOWN", "unknown image error"},
	ImageErrFlashConfigQuery:    {"IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL", "the flash configuration could not be read"},
	ImageErrNoImage:             {"IMG_MGMT_ERR_NO_IMAGE", "no image in the slot"},
	ImageErrNoTLVs:              {"IMG_MGMT_ERR_NO_TLVS", "the image has no TLV area"},
	ImageErrInvalidTLV:          {"IMG_MGMT_ERR_INVALID_TLV", "the image has an invalid TLV"},
	ImageErrMultipleHashes:      {"IMG_MGMT_ERR_TLV_MULTIPLE_HASHES_FOUND", "the image has more than one hash TLV"},
	ImageErrTLVInvalidSize:      {"IMG_MGMT_ERR_TLV_INVALID_SIZE", "an image TLV has an invalid size"},
	ImageErrHashNotFound:        {"IMG_MGMT_ERR_HASH_NOT_FOUND", "no image on the board has that hash"},
	ImageErrNoFreeSlot:          {"IMG_MGMT_ERR_NO_FREE_SLOT", "no free slot: the other slot holds a pending image or the one to revert to"},
	ImageErrFlashOpen:           {"IMG_MGMT_ERR_FLASH_OPEN_FAILED", "the flash area could not be opened"},
	ImageErrFlashRead:           {"IMG_MGMT_ERR_FLASH_READ_FAILED", "reading flash failed"},
	ImageErrFlashWrite:          {"IMG_MGMT_ERR_FLASH_WRITE_FAILED", "writing flash failed"},
	ImageErrFlashErase:          {"IMG_MGMT_ERR_FLASH_ERASE_FAILED", "erasing flash failed"},
	ImageErrInvalidSlot:         {"IMG_MGMT_ERR_INVALID_SLOT", "no such slot"},
	ImageErrNoFreeMemory:        {"IMG_MGMT_ERR_NO_FREE_MEMORY", "the board ran out of memory"},
	ImageErrFlashContextSet:     {"IMG_MGMT_ERR_FLASH_CONTEXT_ALREADY_SET", "the flash context is already set"},
	ImageErrFlashContextNotSet:  {"IMG_MGMT_ERR_FLASH_CONTEXT_NOT_SET", "the flash context is not set"},
	ImageErrFlashAreaNull:       {"IMG_MGMT_ERR_FLASH_AREA_DEVICE_NULL", "the flash area has no device"},
	ImageErrInvalidPageOffset:   {"IMG_MGMT_ERR_INVALID_PAGE_OFFSET", "invalid flash page offset"},
	ImageErrInvalidOffset:       {"IMG_MGMT_ERR_INVALID_OFFSET", "the upload request has no valid offset"},
	ImageErrInvalidLength:       {"IMG_MGMT_ERR_INVALID_LENGTH", "the first upload request has no valid length"},
	ImageErrInvalidHeader:       {"IMG_MGMT_ERR_INVALID_IMAGE_HEADER", "the image header is malformed"},
	ImageErrInvalidHeaderMagic:  {"IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC", "the file is not an MCUboot image (bad header magic)"},
	ImageErrInvalidHash:         {"IMG_MGMT_ERR_INVALID_HASH", "the hash in the request is not valid"},
	ImageErrInvalidFlashAddress: {"IMG_MGMT_ERR_INVALID_FLASH_ADDRESS", "the image's load address does not match the slot"},
	ImageErrVersionGet:          {"IMG_MGMT_ERR_VERSION_GET_FAILED", "the running image's version could not be read"},
	ImageErrCurrentVersionNewer: {"IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER", "the running image is newer than the upload"},
	ImageErrAlreadyPending:      {"IMG_MGMT_ERR_IMAGE_ALREADY_PENDING", "another image is already pending"},
	ImageErrInvalidVectorTable:  {"IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE", "the image's vector table is invalid"},
	ImageErrTooLarge:            {"IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE", "the image is too large for the slot"},
	ImageErrDataOverrun:         {"IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN", "more data than the announced image length"},
	ImageErrConfirmationDenied:  {"IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED", "confirming that image is not allowed"},
	ImageErrTestToActiveDenied:  {"IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED", "the running image cannot be set for test"},
	ImageErrActiveSlotNotKnown:  {"IMG_MGMT_ERR_ACTIVE_SLOT_NOT_KNOWN", "the board cannot tell which slot is running"},
}

var osTexts = [...]codeText{
	OSErrUnknown:         {"OS_MGMT_ERR_UNKNOWN", "unknown OS error"},
	OSErrInvalidFormat:   {"OS_MGMT_ERR_INVALID_FORMAT", "invalid format string"},
	OSErrNoAnswer:        {"OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER", "the query has no answer"},
	OSErrRTCNotSet:       {"OS_MGMT_ERR_RTC_NOT_SET", "the board's clock is not set"},
	OSErrRTCCommand:      {"OS_MGMT_ERR_RTC_COMMAND_FAILED", "the clock command failed"},
	OSErrQueryValueValid: {"OS_MGMT_ERR_QUERY_RESPONSE_VALUE_NOT_VALID", "the answer to the query is not valid"},
}

func lookup(table []codeText, code int) (codeText, bool) {
	if code < 0 || code >= len(table) || table[code].name == "" {
		return codeText{}, false
	}
	return table[code], true
}

// String returns the code's symbolic name, as Zephyr spells it.
func (rc RC) String() string {
	if t, ok := lookup(rcTexts[:], int(rc)); ok {
		return t.name
	}
	if rc >= RCPerUser {
		return fmt.Sprintf("MGMT_ERR_EPERUSER+%d", int(rc-RCPerUser))
	}
	return fmt.Sprintf("rc %d", int(rc))
}

// Error is an error status a board answered a request with.
type Error struct {
	// Cmd names the request, such as "image upload".
	Cmd string
	// Group is the group of a group error; for an RC error it is the
	// group of the request.
	Group Group
	// Code is the status: an RC when GroupError is false, otherwise a
	// code of Group (such as ImageErrHashNotFound).
	Code int
	// GroupError is true for an SMP version 2 group error ("err").
	GroupError bool
	// Reason is the board's explanation ("rsn"), if it sent one.
	Reason string
}

// Name returns the symbolic name of the status, as Zephyr spells it.
func (e *Error) Name() string {
	if t, ok := e.text(); ok {
		return t.name
	}
	if e.GroupError {
		return fmt.Sprintf("%s group error %d", e.Group, e.Code)
	}
	return RC(e.Code).String()
}

func (e *Error) text() (codeText, bool) {
	if !e.GroupError {
		return lookup(rcTexts[:], e.Code)
	}
	switch e.Group {
	case GroupImage:
		return lookup(imageTexts[:], e.Code)
	case GroupOS:
		return lookup(osTexts[:], e.Code)
	}
	return codeText{}, false
}

// Error describes the status in words, with its symbolic name.
func (e *Error) Error() string { return "smp: " + e.UserMessage() }

// UserMessage is the error for people: the command and the status in
// words.
func (e *Error) UserMessage() string {
	desc := "the board reported an error"
	if t, ok := e.text(); ok {
		desc = t.text
	}
	s := fmt.Sprintf("%s: %s (%s)", e.Cmd, desc, e.Name())
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// IsRC reports whether err is, or wraps, a board error with status rc.
func IsRC(err error, rc RC) bool {
	var e *Error
	return errors.As(err, &e) && !e.GroupError && e.Code == int(rc)
}

// IsGroupError reports whether err is, or wraps, a board error of group g
// with group-specific code.
func IsGroupError(err error, g Group, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.GroupError && e.Group == g && e.Code == code
}

// Errors of the client itself.
var (
	// ErrTimeout is returned when the board did not answer in time.
	ErrTimeout = errors.New("no answer from the board")
	// ErrClosed is returned once the client is closed.
	ErrClosed = usererr.New("smp", "client closed")
	// ErrLinkDown is returned once reading from the transport failed: the
	// port went away (a USB board resetting, a cable pulled) or closed. The
	// client is of no further use; open the port again.
	ErrLinkDown = usererr.New("smp", "the link to the board failed")
)
