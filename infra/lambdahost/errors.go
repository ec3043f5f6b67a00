package lambdahost

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// apiError is an error of the Invoke API itself (not of a function), shaped
// like Lambda's: the code in the X-Amzn-ErrorType header, a JSON body with
// Type and a message member whose spelling depends on the exception.
type apiError struct {
	status     int
	code       string
	message    string
	capitalMsg bool   // "Message" instead of "message"
	typ        string // "User" or "Service"
	reason     string // TooManyRequestsException.Reason
	retryAfter int    // seconds, for 429
}

func notFound(name string) apiError {
	return apiError{status: http.StatusNotFound, code: "ResourceNotFoundException", typ: "User", capitalMsg: true,
		message: "Function not found: " + functionARN(name)}
}

func tooLarge() apiError {
	return apiError{status: http.StatusRequestEntityTooLarge, code: "RequestTooLargeException", typ: "User",
		message: "Request must be smaller than " + strconv.Itoa(MaxPayloadBytes) + " bytes for the InvokeFunction operation"}
}

func throttled(retryAfter int) apiError {
	return apiError{status: http.StatusTooManyRequests, code: "TooManyRequestsException", typ: "User",
		message: "Rate Exceeded.", reason: "ReservedFunctionConcurrentInvocationLimitExceeded", retryAfter: retryAfter}
}

func invalidParameter(msg string) apiError {
	return apiError{status: http.StatusBadRequest, code: "InvalidParameterValueException", typ: "User", message: msg}
}

func invalidContent(msg string) apiError {
	return apiError{status: http.StatusBadRequest, code: "InvalidRequestContentException", typ: "User", message: msg}
}

func serviceError(msg string) apiError {
	return apiError{status: http.StatusInternalServerError, code: "ServiceException", typ: "Service", capitalMsg: true, message: msg}
}

func unknownOperation() apiError {
	return apiError{status: http.StatusNotFound, code: "UnknownOperationException", typ: "User", message: "Unknown operation"}
}

func (e apiError) write(w http.ResponseWriter, requestID string) {
	body := map[string]string{"Type": e.typ}
	if e.capitalMsg {
		body["Message"] = e.message
	} else {
		body["message"] = e.message
	}
	if e.reason != "" {
		body["Reason"] = e.reason
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.code)
	h.Set("X-Amzn-RequestId", requestID)
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

// Account and region of the ARNs the host reports; the function ARN the
// emulator gives the function uses the same region.
const (
	fakeAccount = "012345678912" // the account in the ARN the emulator hands the function
	fakeRegion  = "us-east-1"
)

func functionARN(name string) string {
	return "arn:aws:lambda:" + fakeRegion + ":" + fakeAccount + ":function:" + name
}
